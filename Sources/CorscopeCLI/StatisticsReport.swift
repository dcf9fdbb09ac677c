import CorscopeExchanges
import CorscopeHTTP

/// The counts `exchanges --stats` prints, as aligned text or one JSON object.
enum StatisticsReport {
    static func rows(_ s: PipelineStatistics) -> [(String, Int)] {
        var rows: [(String, Int)] = [
            ("file_bytes", Int(s.fileBytes)),
            ("packets", s.capture.packets),
            ("bytes", s.capture.bytesCaptured),
            ("tcp_segments", s.capture.tcpSegments),
            ("connections", s.reassembly.connections),
            ("connections_without_handshake", s.reassembly.connectionsWithoutHandshake),
            ("exchanges", s.exchanges),
            ("requests", s.requests),
            ("responses", s.responses),
            ("header_fields", s.headerFields),
            ("body_bytes", s.bodyBytes),
            ("decoded_body_bytes", s.decodedBodyBytes),
            ("gaps", s.reassembly.gaps),
            ("gap_bytes", s.reassembly.gapBytes),
            ("out_of_order_segments", s.reassembly.outOfOrderSegments),
            ("retransmitted_bytes", s.reassembly.retransmittedBytes),
            ("anomalous_exchanges", s.anomalousExchanges),
            ("skipped_http_bytes", s.http.skippedBytes),
        ]
        for (name, value) in s.capture.namedCounts where value > 0 && !rows.contains(where: { $0.0 == name }) {
            rows.append(("skipped_packets." + name, value))
        }
        for anomaly in HTTPAnomaly.allCases {
            if let count = s.anomalies[anomaly] { rows.append(("anomaly." + anomaly.rawValue, count)) }
        }
        return rows
    }

    static func text(_ s: PipelineStatistics) -> String {
        let rows = rows(s)
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { name, value in
            name + ":" + String(repeating: " ", count: width - name.count + 1) + String(value)
        }.joined(separator: "\n") + "\n"
    }

    static func json(_ s: PipelineStatistics) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        for (name, value) in rows(s) {
            json.key(name)
            json.int(value)
        }
        json.endObject()
        json.newline()
        return json.bytes
    }

    static func summary(_ s: PipelineStatistics, files: Int, failures: Int, warnings: Int, seconds: Double) -> String {
        let mb = Double(s.fileBytes) / 1e6
        let rate = seconds > 0 ? mb / seconds : 0
        var text = "\(files) file\(files == 1 ? "" : "s"), \(s.capture.packets) packets, \(s.reassembly.connections) connections, "
        text += "\(s.exchanges) exchanges, \(s.reassembly.gaps) gaps, \(s.anomalousExchanges) with anomalies"
        let skipped = s.capture.packets - s.capture.tcpPackets
        if skipped > 0 { text += ", \(skipped) non-TCP or undecodable packets skipped" }
        if warnings > 0 { text += ", \(warnings) warning\(warnings == 1 ? "" : "s")" }
        if failures > 0 { text += ", \(failures) unreadable file\(failures == 1 ? "" : "s")" }
        let roundedSeconds = Double(Int(seconds * 100)) / 100
        text += " in \(roundedSeconds) s (\(Int(rate)) MB/s)"
        return text
    }
}
