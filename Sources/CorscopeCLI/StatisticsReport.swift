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
            ("late_bytes", s.reassembly.lateBytes),
            ("anomalous_exchanges", s.anomalousExchanges),
            ("skipped_http_bytes", s.http.skippedBytes),
        ]
        let skipped: [(String, Int)] = [
            ("non_tcp", s.capture.nonTCP), ("non_ip", s.capture.nonIP),
            ("unsupported_link_type", s.capture.unsupportedLinkType), ("malformed", s.capture.malformed),
            ("ip_fragments_dropped", s.capture.ipFragmentsDropped),
        ]
        if s.capture.filteredOut > 0 { rows.append(("filtered_out_packets", s.capture.filteredOut)) }
        if s.tls.connections > 0 {
            rows += [
                ("tls.connections", s.tls.connections), ("tls.decrypted_connections", s.tls.decryptedConnections),
                ("tls.records", s.tls.records), ("tls.decrypted_records", s.tls.decryptedRecords),
                ("tls.plaintext_bytes", s.tls.plaintextBytes), ("tls.undecrypted_bytes", s.tls.undecryptedBytes),
                ("tls.lost_bytes", s.tls.lostBytes), ("tls.resynced_records", s.tls.resyncedRecords),
                ("tls.authentication_failures", s.tls.authenticationFailures),
            ]
        }
        if s.http2.frames > 0 {
            rows += [
                ("http2.frames", s.http2.frames), ("http2.streams", s.http2.streams), ("http2.push_promises", s.http2.pushPromises),
                ("http2.streams_reset", s.http2.streamsReset), ("http2.header_blocks_decoded", s.http2.headerBlocksDecoded),
                ("http2.header_blocks_lost", s.http2.headerBlocksLost), ("http2.hpack_errors", s.http2.hpackErrors),
                ("http2.gaps", s.http2.gaps), ("http2.skipped_bytes", s.http2.skippedBytes),
                ("http2.data_bytes_on_unknown_streams", s.http2.dataBytesOnUnknownStreams), ("http2.streams_lost", s.http2.streamsLost),
                ("http2.streams_evicted", s.http2.streamsEvicted),
            ]
        }
        for total in NotAnalysedText.totals(s.notAnalysed.traffic) {
            rows.append(("not_analysed." + total.kind.rawValue + ".connections", total.connections))
            rows.append(("not_analysed." + total.kind.rawValue + ".bytes", total.bytes))
        }
        rows.append(("skipped_packets", skipped.reduce(0) { $0 + $1.1 }))
        for (name, value) in skipped where value > 0 { rows.append(("skipped_packets." + name, value)) }
        if s.capture.truncatedBySnaplen > 0 { rows.append(("truncated_by_snaplen", s.capture.truncatedBySnaplen)) }
        if s.capture.ipDatagramsReassembled > 0 { rows.append(("ip_datagrams_reassembled", s.capture.ipDatagramsReassembled)) }
        // What reassembly's caps cut, when they cut anything.
        let reassembly: [(String, Int)] = [
            ("evicted_connections", s.reassembly.evictedConnections),
            ("gaps_forced_by_buffer_cap", s.reassembly.gapsForcedByBufferCap),
            ("gaps_forced_by_total_buffer_cap", s.reassembly.gapsForcedByTotalBufferCap),
        ]
        for (name, value) in reassembly where value > 0 { rows.append((name, value)) }
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
        let skipped = s.capture.nonTCP + s.capture.nonIP + s.capture.unsupportedLinkType + s.capture.malformed
        if s.capture.filteredOut > 0 { text += ", \(s.capture.filteredOut) packets left out by --filter" }
        text += NotAnalysedText.summary(s.notAnalysed.traffic)
        if skipped > 0 { text += ", \(skipped) packets skipped (non-TCP, unsupported or malformed)" }
        if warnings > 0 { text += ", \(warnings) warning\(warnings == 1 ? "" : "s")" }
        if failures > 0 { text += ", \(failures) unreadable file\(failures == 1 ? "" : "s")" }
        let roundedSeconds = Double(Int(seconds * 100)) / 100
        text += " in \(roundedSeconds) s (\(Int(rate)) MB/s)"
        return text
    }
}

/// What was not analysed, added up per kind: one stderr clause ("; not analysed: 31 tls
/// connections (…)") and the `--stats` rows.
enum NotAnalysedText {
    static func totals(_ traffic: [NotAnalysedTraffic]) -> [(kind: NotAnalysedTraffic.Kind, connections: Int, bytes: Int)] {
        NotAnalysedTraffic.Kind.allCases.compactMap { kind in
            let items = traffic.filter { $0.kind == kind }
            guard !items.isEmpty else { return nil }
            return (kind, items.reduce(0) { $0 + $1.connections }, items.reduce(0) { $0 + $1.bytes })
        }
    }

    static func summary(_ traffic: [NotAnalysedTraffic]) -> String {
        let parts = totals(traffic).map { "\($0.connections) \($0.kind.rawValue) connection\($0.connections == 1 ? "" : "s") (\($0.bytes) B)" }
        return parts.isEmpty ? "" : ", not analysed: " + parts.joined(separator: ", ")
    }
}
