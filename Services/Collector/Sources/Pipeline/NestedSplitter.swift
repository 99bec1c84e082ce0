/// Packs the items of resource → scope → item trees into pieces of bounded weight,
/// copying the resource and scope wrappers into each piece an item lands in. Items keep
/// their order. Every item must weigh at most `maxItems`.
enum NestedSplitter {
    static func split<Resource, Scope, Item>(
        _ resources: [Resource],
        maxItems: Int,
        scopes: WritableKeyPath<Resource, [Scope]>,
        items: WritableKeyPath<Scope, [Item]>,
        weight: (Item) -> Int
    ) -> [[Resource]] {
        var pieces: [[Resource]] = []
        var piece: [Resource] = []
        var pieceWeight = 0

        for resource in resources {
            var resourcePart = resource
            resourcePart[keyPath: scopes] = []
            for scope in resource[keyPath: scopes] {
                var scopePart = scope
                scopePart[keyPath: items] = []
                for item in scope[keyPath: items] {
                    let w = weight(item)
                    if pieceWeight + w > maxItems, pieceWeight > 0 {
                        // The piece is full: close the open scope and resource into it.
                        if !scopePart[keyPath: items].isEmpty { resourcePart[keyPath: scopes].append(scopePart) }
                        if !resourcePart[keyPath: scopes].isEmpty { piece.append(resourcePart) }
                        pieces.append(piece)
                        piece = []
                        pieceWeight = 0
                        resourcePart[keyPath: scopes] = []
                        scopePart[keyPath: items] = []
                    }
                    scopePart[keyPath: items].append(item)
                    pieceWeight += w
                }
                if !scopePart[keyPath: items].isEmpty { resourcePart[keyPath: scopes].append(scopePart) }
            }
            if !resourcePart[keyPath: scopes].isEmpty { piece.append(resourcePart) }
        }
        if !piece.isEmpty { pieces.append(piece) }
        return pieces
    }
}
