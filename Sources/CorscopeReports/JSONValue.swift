import CorscopeExchanges

/// A small JSON tree for the report writers: objects always serialize with sorted keys, so the
/// output is byte-identical across runs (Swift dictionaries iterate in per-process random order).
/// Reports are small (bounded by groups, not exchanges), so building a tree costs nothing.
indirect enum JSONValue {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null

    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func optional(_ value: Int?) -> JSONValue { value.map(JSONValue.int) ?? .null }

    /// Compact JSON (one line) plus a final newline; keys sorted at every level.
    func serialized() -> [UInt8] {
        var writer = JSONWriter(capacity: 1 << 16)
        write(to: &writer)
        writer.newline()
        return writer.bytes
    }

    private func write(to json: inout JSONWriter) {
        switch self {
        case .object(let fields):
            json.beginObject()
            for key in fields.keys.sorted() {
                json.key(key)
                fields[key]!.write(to: &json)
            }
            json.endObject()
        case .array(let items):
            json.beginArray()
            for item in items { item.write(to: &json) }
            json.endArray()
        case .string(let s): json.string(s)
        case .int(let i): json.int(i)
        case .double(let d): json.double(d)
        case .bool(let b): json.bool(b)
        case .null: json.null()
        }
    }
}
