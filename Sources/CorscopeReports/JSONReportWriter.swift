import CorscopeCapture

/// The versioned JSON report (`"schema": "corscope.report/1"`, described by
/// docs/report.schema.json): sorted keys, stable ids, capture times only.
public enum JSONReportWriter {
    public static func write(_ report: CORSReport) -> [UInt8] {
        value(of: report).serialized()
    }

    static func value(of report: CORSReport) -> JSONValue {
        let t = report.totals
        var fields: [String: JSONValue] = [
            // "$comment" sorts first, so the redaction state is the first thing a reader sees.
            "$comment": .string(report.redacted ? redactedNotice : unredactedNotice),
            "schema": .string(CORSReport.schema),
            "redacted": .bool(report.redacted),
            "browser": .string(report.browser),
            "inputs": .array(report.inputs.map(JSONValue.string)),
            "totals": .object([
                "exchanges": .int(t.exchanges), "notCors": .int(t.notCORS), "passed": .int(t.passed),
                "blocked": .int(t.blocked), "undecidable": .int(t.undecidable),
                "preflightsPassed": .int(t.preflightsPassed), "warnings": .int(t.warnings),
                "assumedCredentials": .int(t.assumedCredentials),
                "cacheFindings": .int(report.cacheFindings.count),
            ]),
            "timeline": .object([
                "start": .optional(report.timeline.start.map(TextFormatting.iso)),
                "binSeconds": .int(Int(report.timeline.binSeconds)),
                "binCount": .int(report.timeline.binCount),
            ]),
            "origins": .array(report.origins.map(origin)),
            "cacheFindings": .array(report.cacheFindings.map(cacheFinding)),
            "websocketFindings": .array(report.websocketFindings.map(websocketFinding)),
            "unreadInputs": .array(report.unreadInputs.map(JSONValue.string)),
            "notAnalysed": .object([
                "connections": .array(report.notAnalysed.map { t in
                    .object(["kind": .string(t.kind.rawValue), "server": .string(t.server), "connections": .int(t.connections),
                             "bytes": .int(t.bytes), "serverNames": .array(t.serverNames.map(JSONValue.string)),
                             "protocols": .array(t.protocols.map(JSONValue.string)), "versions": .array(t.versions.map(JSONValue.string))])
                }),
                "skippedPackets": .object(Dictionary(uniqueKeysWithValues: report.skippedPackets.map { ($0.kind, JSONValue.int($0.count)) })),
            ]),
            "omittedGroups": .object(["groups": .int(report.omittedGroups), "blocked": .int(report.omittedGroupRequests)]),
        ]
        // Only when an input was read in part, so reports of whole reads stay as they were.
        if !report.inputWarnings.isEmpty { fields["inputWarnings"] = .array(report.inputWarnings.map(JSONValue.string)) }
        // Only when the input's edges cut an exchange, so other reports stay as they were.
        if !report.edges.isEmpty {
            fields["edges"] = .object(["requestsWithoutResponse": .int(report.edges.requestsWithoutResponse),
                                       "responsesWithoutRequest": .int(report.edges.responsesWithoutRequest)])
        }
        return .object(fields)
    }

    static let redactedNotice = "corscope CORS report. Secrets are redacted: cookie values, Authorization, and tokens, keys and signatures in headers and URLs read [redacted]."
    static let unredactedNotice = "WARNING: redaction is OFF (--no-redact). This report contains cookies, tokens and other secrets exactly as captured. Do not share it."

    static func origin(_ o: OriginReport) -> JSONValue {
        .object([
            "origin": .string(o.origin), "passed": .int(o.passed), "blocked": .int(o.blocked),
            "undecidable": .int(o.undecidable), "warnings": .int(o.warnings),
            "warningCounts": .array(o.warningCounts.map {
                .object(["code": .string($0.code), "summary": .string($0.summary), "count": .int($0.count)])
            }),
            "blockedOverTime": .array(o.blockedOverTime.map(JSONValue.int)),
            "groups": .array(o.groups.map(group)),
        ])
    }

    static func group(_ g: BlockedGroup) -> JSONValue {
        .object([
            "id": .string(g.id), "reason": .string(g.reason), "stage": .string(g.stage),
            "failedParameter": .optional(g.failedParameter), "method": .string(g.method), "host": .string(g.host),
            "pathTemplate": .string(g.pathTemplate), "endpoint": .string(g.endpoint), "count": .int(g.count),
            "firstSeen": .string(TextFormatting.iso(g.firstSeen)), "lastSeen": .string(TextFormatting.iso(g.lastSeen)),
            "exchangeIds": .array(g.exchangeIDs.map(JSONValue.string)),
            "example": example(g.example),
            "messages": .array(g.messages.map { .object(["browser": .string($0.browser), "text": .string($0.text)]) }),
            "explanation": .string(g.explanation),
            "assumed": g.assumption.map { a in
                .object(["credentials": .string(a.credentials), "because": .string(a.because),
                         "alternative": .optional(a.alternative)])
            } ?? .null,
            "layer": .object([
                "layer": .string(g.layer.layer.rawValue), "component": .optional(g.layer.component),
                "confidence": .string(g.layer.confidence), "reasoning": .array(g.layer.reasoning.map(JSONValue.string)),
                "seen": .array(g.layer.seen.map { seen in
                    .object(["id": .string(seen.id), "name": .string(seen.name), "answered": .bool(seen.answered),
                             "evidence": .array(seen.evidence.map(JSONValue.string))])
                }),
            ]),
            "fix": fix(g.fix),
        ])
    }

    static func example(_ e: ExampleExchange) -> JSONValue {
        .object([
            "id": .string(e.id), "time": .optional(e.time.map(TextFormatting.iso)), "method": .string(e.method),
            "url": .string(e.url), "status": .optional(e.status), "transport": .optional(e.transport),
            "requestHeaders": headers(e.requestHeaders), "responseHeaders": headers(e.responseHeaders),
            "preflight": e.preflight.first.map(example) ?? .null,
            "inferredRequestHeaders": .array(e.requestHeaders.compactMap { line in
                line.inferred.map { .object(["name": .string(line.name), "because": .string($0)]) }
            }),
        ])
    }

    static func headers(_ lines: [HeaderLine]) -> JSONValue {
        .array(lines.map { .array([.string($0.name), .string($0.value)]) })
    }

    static func fix(_ f: FixAdvice) -> JSONValue {
        .object([
            "summary": .string(f.summary),
            "snippets": .array(f.snippets.map {
                .object(["target": .string($0.target), "language": .string($0.language), "code": .string($0.code)])
            }),
        ])
    }

    static func cacheFinding(_ c: CacheFinding) -> JSONValue {
        .object([
            "id": .string(c.id), "kind": .string(c.kind.rawValue), "severity": .string(c.severity.rawValue),
            "title": .string(c.kind.title), "scheme": .string(c.scheme), "host": .string(c.host), "urlTemplate": .string(c.urlTemplate),
            "count": .int(c.count), "exchangeIds": .array(c.exchangeIDs.map(JSONValue.string)),
            "cdn": .optional(c.cdn), "evidence": .string(c.evidence),
            "firstSeen": .string(TextFormatting.iso(c.firstSeen)), "lastSeen": .string(TextFormatting.iso(c.lastSeen)),
            "fix": fix(c.fix),
        ])
    }

    static func websocketFinding(_ w: WebSocketFinding) -> JSONValue {
        .object([
            "id": .string(w.id), "origin": .string(w.origin), "scheme": .string(w.scheme), "host": .string(w.host), "pathTemplate": .string(w.pathTemplate),
            "status": .int(w.status), "count": .int(w.count), "exchangeIds": .array(w.exchangeIDs.map(JSONValue.string)),
            "evidence": .string(w.evidence),
            "firstSeen": .string(TextFormatting.iso(w.firstSeen)), "lastSeen": .string(TextFormatting.iso(w.lastSeen)),
            "fix": fix(w.fix),
        ])
    }
}
