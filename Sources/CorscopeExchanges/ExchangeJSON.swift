import CorscopeCapture
import CorscopeHTTP
import CorscopeRedaction

/// The NDJSON shape of one exchange: a documented, stable interface (see `docs/exchange-json.md`)
/// that later stages and other tools build on.
public enum ExchangeJSON {
    /// Writes one exchange as a JSON object (no trailing newline). `extra` may add fields at the
    /// end of the object (the CORS verdict does). With a `redactor`, secrets in header values,
    /// the target and the HAR's URLs read `[redacted]` (the redactor then remembers this
    /// exchange's secrets, for `extra` to scrub its texts of them).
    public static func write(_ exchange: HTTPExchange, to json: inout JSONWriter, redactor: Redactor? = nil,
                             extra: ((inout JSONWriter) -> Void)? = nil) {
        let redactor = redactor?.isEnabled == true ? redactor : nil
        redactor?.forgetSecrets()
        json.beginObject()
        json.key("id"); json.string(exchange.id)
        json.key("connection"); json.int(exchange.connection.id)
        json.key("index"); json.int(exchange.index)
        if let har = exchange.har {
            // A HAR has no client address, and the server's only when the exporter wrote it.
            json.key("client"); json.null()
            json.key("server")
            if let server = har.serverAddress { json.string(server) } else { json.null() }
        } else {
            json.key("client"); json.string(exchange.connection.client.description)
            json.key("server"); json.string(exchange.connection.server.description)
        }
        writeTransport(exchange, to: &json)
        json.key("request")
        if let request = exchange.request {
            json.beginObject()
            json.key("method"); json.string(request.head.method)
            json.key("target"); json.string(redactor.map { $0.url(request.head.target) } ?? request.head.target)
            json.key("version"); json.string(request.head.version.description)
            json.key("headers"); writeFields(request.head.headers, to: &json, redactor: redactor)
            writeMessageTail(body: request.body, trailers: request.trailers,
                             firstByte: request.firstByte, lastByte: request.lastByte, to: &json, redactor: redactor)
            json.endObject()
        } else {
            json.null()
        }
        json.key("interim")
        json.beginArray()
        for head in exchange.interimResponses {
            json.beginObject()
            json.key("status"); json.int(head.status)
            json.key("reason"); json.string(head.reason)
            json.key("headers"); writeFields(head.headers, to: &json, redactor: redactor)
            json.endObject()
        }
        json.endArray()
        json.key("response")
        if let response = exchange.response {
            json.beginObject()
            json.key("status"); json.int(response.head.status)
            json.key("reason"); json.string(response.head.reason)
            json.key("version"); json.string(response.head.version.description)
            json.key("headers"); writeFields(response.head.headers, to: &json, redactor: redactor)
            writeMessageTail(body: response.body, trailers: response.trailers,
                             firstByte: response.firstByte, lastByte: response.lastByte, to: &json, redactor: redactor)
            json.endObject()
        } else {
            json.null()
        }
        json.key("missingBytes"); json.int(exchange.missingBytes)
        json.key("anomalies")
        json.beginArray()
        for anomaly in exchange.anomalies { json.string(anomaly.rawValue) }
        json.endArray()
        if let har = exchange.har { writeHAREvidence(har, to: &json, redactor: redactor) }
        extra?(&json)
        json.endObject()
    }

    /// `"transport": {"scheme", "http2", "stream", "tls": {"version", "cipherSuite", "serverName", "alpn"} | null}`.
    private static func writeTransport(_ exchange: HTTPExchange, to json: inout JSONWriter) {
        let transport = exchange.transport
        json.key("transport")
        json.beginObject()
        // A HAR entry's URL says (the entry does not describe its connection).
        json.key("scheme"); json.string(exchange.requestScheme)
        json.key("http2"); json.bool(transport.isHTTP2 || exchange.requestHead?.version.major == 2)
        json.key("stream")
        if let stream = exchange.streamID { json.int(Int(stream)) } else { json.null() }
        if let http2 = exchange.http2 {
            json.key("reset")
            if let code = http2.resetCode {
                json.beginObject()
                json.key("code"); json.string(code)
                json.key("by")
                if let byClient = http2.resetByClient { json.string(byClient ? "client" : "server") } else { json.null() }
                json.endObject()
            } else {
                json.null()
            }
            json.key("promisedOn")
            if let stream = http2.promisedOn { json.int(Int(stream)) } else { json.null() }
        }
        json.key("tls")
        if let tls = transport.tls {
            json.beginObject()
            json.key("version"); json.string(tls.version)
            json.key("cipherSuite"); json.string(tls.cipherSuite)
            json.key("serverName")
            if let name = tls.serverName { json.string(name) } else { json.null() }
            json.key("alpn")
            if let alpn = tls.alpn { json.string(alpn) } else { json.null() }
            json.endObject()
        } else {
            json.null()
        }
        json.endObject()
    }

    private static func writeHAREvidence(_ har: HAREvidence, to json: inout JSONWriter, redactor: Redactor?) {
        func optional(_ key: StaticString, _ value: String?) {
            json.key(key)
            if let value { json.string(value) } else { json.null() }
        }
        func url(_ key: StaticString, _ value: String?) { optional(key, value.map { redactor?.url($0) ?? $0 }) }
        json.key("har")
        json.beginObject()
        json.key("file"); json.string(har.file)
        json.key("entry"); json.int(har.entryIndex)
        optional("pageref", har.pageref)
        url("pageURL", har.pageURL)
        optional("resourceType", har.resourceType)
        optional("initiatorType", har.initiatorType)
        url("initiatorURL", har.initiatorURL)
        optional("error", har.error)
        json.key("sanitized"); json.bool(har.isSanitized)
        optional("fromCache", har.fromCache)
        if !har.inferredRequestHeaders.isEmpty {
            json.key("inferredRequestHeaders")
            json.beginArray()
            for header in har.inferredRequestHeaders {
                json.beginObject()
                json.key("name"); json.string(header.name)
                json.key("because"); json.string(header.because)
                json.endObject()
            }
            json.endArray()
        }
        optional("creator", har.creator)
        json.key("dialect"); json.string(har.dialect.rawValue)
        json.endObject()
    }

    /// Fields as ordered `[name, value]` pairs, duplicates kept; values that may hide a secret
    /// go through `redactor` (most fields are decided on their bytes and written as they are).
    public static func writeFields(_ fields: HTTPHeaderFields, to json: inout JSONWriter, redactor: Redactor? = nil) {
        json.beginArray()
        for index in 0..<fields.count {
            json.beginArray()
            let name = fields.nameBytes(at: index)
            let value = fields.valueBytes(at: index)
            json.string(bytes: name)
            if let redactor, redactor.mayHideSecret(name: name, value: value) {
                json.string(redactor.header(name: fields.name(at: index), value: fields.value(at: index)))
            } else {
                json.string(bytes: value)
            }
            json.endArray()
        }
        json.endArray()
    }

    private static func writeMessageTail(body: HTTPBody, trailers: HTTPHeaderFields, firstByte: Timestamp,
                                         lastByte: Timestamp, to json: inout JSONWriter, redactor: Redactor?) {
        json.key("trailers"); writeFields(trailers, to: &json, redactor: redactor)
        json.key("firstByte"); json.timestamp(seconds: firstByte.seconds, nanoseconds: firstByte.nanoseconds)
        json.key("lastByte"); json.timestamp(seconds: lastByte.seconds, nanoseconds: lastByte.nanoseconds)
        json.key("bodyBytes"); json.int(body.wireLength)
        json.key("decodedBodyBytes")
        if let decoded = body.decodedLength { json.int(decoded) } else { json.null() }
        json.key("contentEncoding")
        json.beginArray()
        for coding in body.contentEncoding { json.string(coding) }
        json.endArray()
        json.key("missingBytes"); json.int(body.missingBytes)
    }
}
