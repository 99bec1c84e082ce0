/// UTC calendar fields of a Unix time, for `hour()`, `day_of_week()` and friends
/// (proleptic Gregorian calendar; days from civil by Howard Hinnant's algorithm).
struct PromQLCivilTime {
    let year: Int64
    let month: Int64     // 1...12
    let day: Int64       // 1...31
    let hour: Int64
    let minute: Int64
    let weekday: Int64   // 0 = Sunday
    let dayOfYear: Int64 // 1...366

    init(unixSeconds: Int64) {
        var days = unixSeconds / 86_400
        var seconds = unixSeconds % 86_400
        if seconds < 0 {
            seconds += 86_400
            days -= 1
        }
        hour = seconds / 3600
        minute = seconds % 3600 / 60
        weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let leap = Self.isLeap(year)
        let cumulative: [Int64] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
        dayOfYear = cumulative[Int(month - 1)] + day + (leap && month > 2 ? 1 : 0)
    }

    static func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    var daysInMonth: Int64 {
        let lengths: [Int64] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return month == 2 && Self.isLeap(year) ? 29 : lengths[Int(month - 1)]
    }

    func field(_ function: String) -> Double {
        switch function {
        case "days_in_month": return Double(daysInMonth)
        case "day_of_month": return Double(day)
        case "day_of_week": return Double(weekday)
        case "day_of_year": return Double(dayOfYear)
        case "hour": return Double(hour)
        case "minute": return Double(minute)
        case "month": return Double(month)
        default: return Double(year)
        }
    }
}
