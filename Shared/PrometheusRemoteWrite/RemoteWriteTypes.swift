// Short names for the generated remote-write messages, as Prometheus's prompb calls them.
public typealias WriteRequest = Prometheus_WriteRequest
public typealias TimeSeries = Prometheus_TimeSeries
public typealias Sample = Prometheus_Sample
public typealias Label = Prometheus_Label
public typealias PromExemplar = Prometheus_Exemplar
public typealias MetricMetadata = Prometheus_MetricMetadata
