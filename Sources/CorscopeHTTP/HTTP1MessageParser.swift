import CorscopeCapture

/// What a direction's parser tells the connection about (the analyzer implements it).
protocol HTTP1MessageParserDelegate: AnyObject {
    /// A request head was parsed; its body (if any) follows. Called in stream order.
    func parserDidParseRequestHead(_ kind: RequestMethodKind)
    /// The request the next final response answers, or nil when none was captured.
    func requestForNextResponse() -> RequestMethodKind?
    /// A message is complete (requests; interim and final responses).
    func parserDidComplete(_ message: consuming HTTP1Message, role: HTTP1Role)
    /// A gap outside a body: whole messages may have been lost in this direction.
    func parserMayHaveLostMessages(role: HTTP1Role)
}

/// Which side a parser reads: the client sends requests, the server responses.
enum HTTP1Role { case request, response }

/// Incremental, tolerant HTTP/1 parser for one direction of a connection.
///
/// It is a push parser over raw bytes: `receive` parses straight from the caller's buffer and
/// copies into `carry` only what cannot be decided yet (a head or framing line cut by a
/// segment boundary, a resync candidate, bytes held while a protocol switch is pending).
/// Anything unexpected becomes a flag on the message, never an error: on bytes that are not a
/// message start it resynchronises by scanning for the next plausible start line.
/// Stored properties `@exclusivity(unchecked)`: an instance belongs to one thread, and the runtime's
/// check of every access was 7-10% of the instructions on the bench captures (README, Architecture).
final class HTTP1MessageParser<Delegate: HTTP1MessageParserDelegate> {
    private enum State {
        /// Between messages: skips empty lines, then a head starts.
        case idle
        /// Collecting a head; its first byte is at offset 0 of the unconsumed bytes.
        case head
        /// Scanning for the next plausible message start.
        case resync
        case lengthBody(remaining: Int)
        case closeDelimitedBody
        case chunkSizeLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        /// Holding bytes until the response to an upgrade/CONNECT request says whether the
        /// connection stays HTTP.
        case paused
        /// The rest of the direction is not parsed (protocol switch, tunnel, head cap, end).
        case stopped
    }

    let role: HTTP1Role
    private let configuration: HTTPConfiguration
    /// The analyzer owns both parsers privately and outlives them, so no reference count is
    /// needed on this per-message path.
    unowned(unsafe) let delegate: Delegate

    @exclusivity(unchecked) private var state: State = .idle
    /// Unconsumed bytes kept across `receive` calls; empty on the fast path.
    @exclusivity(unchecked) private var carry: [UInt8] = []
    /// The head or trailer section being scanned (resumes where it stopped).
    @exclusivity(unchecked) private var section = HTTP1SectionScanner()
    /// What the last head said about framing and decoding.
    @exclusivity(unchecked) private var framingInfo = HTTP1SectionScanner.InterestingFields()
    @exclusivity(unchecked) private var message: HTTP1Message?
    @exclusivity(unchecked) private var body: BodyAccumulator?
    @exclusivity(unchecked) private var sectionFirstByte = Timestamp.zero
    @exclusivity(unchecked) private var lastDataTime = Timestamp.zero
    /// Flags for the next message (bytes skipped before it, a mid-stream start).
    @exclusivity(unchecked) private var pendingAnomalies: [HTTPAnomaly] = []
    @exclusivity(unchecked) private var sawFirstByte = false

    /// Set when the connection was handed to another protocol's handler (an `h2c` upgrade):
    /// the bytes a stopped parser would skip go to it instead, held bytes included.
    @exclusivity(unchecked) var handOff: ((UnsafeRawBufferPointer, Timestamp) -> Void)?

    @exclusivity(unchecked) private(set) var bytesParsed = 0
    @exclusivity(unchecked) private(set) var skippedBytes = 0
    @exclusivity(unchecked) private(set) var gapBytes = 0
    @exclusivity(unchecked) private(set) var headerFields = 0
    @exclusivity(unchecked) private(set) var bodyWireBytes = 0
    @exclusivity(unchecked) private(set) var messages = 0

    init(role: HTTP1Role, configuration: HTTPConfiguration, delegate: Delegate) {
        self.role = role
        self.configuration = configuration
        self.delegate = delegate
    }

    /// The time of the last bytes received.
    var lastTime: Timestamp { lastDataTime }

    /// Bytes held across `receive` calls (bounded by the head cap plus one segment).
    var heldBytes: Int { carry.count }

    var isPaused: Bool { if case .paused = state { return true } else { return false } }
    var isStopped: Bool { if case .stopped = state { return true } else { return false } }

    // MARK: Input

    func receive(_ data: UnsafeRawBufferPointer, time: Timestamp) {
        guard data.count > 0 else { return }
        lastDataTime = time
        if case .stopped = state {
            if let handOff { handOff(data, time) } else { skippedBytes &+= data.count }
            return
        }
        var offset = 0
        if !carry.isEmpty {
            // Top up the held bytes in growing pieces only until the held item completes,
            // then go back to parsing straight from `data`: a head cut by a segment
            // boundary costs a copy of its own bytes, not of the whole next segment.
            var piece = 256
            while !carry.isEmpty && offset < data.count {
                let take = min(piece, data.count - offset)
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[offset..<(offset + take)]))
                offset += take
                runCarry(time: time)
                piece = piece &* 2
            }
        }
        if offset < data.count {
            let rest = UnsafeRawBufferPointer(rebasing: data[offset...])
            let consumed = run(rest, time: time)
            if consumed < rest.count {
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[consumed...]))
            }
        }
        if case .paused = state, carry.count > configuration.maxHeadBytes {
            // The response is taking too long to decide; assume the connection stayed HTTP.
            resume(time: time)
        }
    }

    private func runCarry(time: Timestamp) {
        // The held bytes are taken out while they are parsed: a message completed here can make
        // the analyzer resume or stop this parser (an upgrade decided by the other side), which
        // would otherwise parse, hand off or drop the same bytes again underneath this call.
        let held = carry
        carry = []
        let consumed = held.withUnsafeBytes { run($0, time: time) }
        carry.insert(contentsOf: held[consumed...], at: 0)
    }

    func gap(length: Int, time: Timestamp) {
        guard length > 0 else { return }
        gapBytes &+= length
        handleGap(length: length, time: time)
    }

    private func handleGap(length: Int, time: Timestamp) {
        switch state {
        case .lengthBody(let remaining):
            if length < remaining {
                body!.noteGap(length)
                state = .lengthBody(remaining: remaining - length)
            } else {
                body!.noteGap(remaining)
                let overshoot = length > remaining
                completeMessage(time: time)
                if overshoot { lostFraming() }
            }
        case .chunkData(let remaining):
            if length <= remaining {
                body!.noteGap(length)
                state = length == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - length)
            } else {
                body!.noteGap(remaining)
                interruptMessage(time: time)
            }
        case .closeDelimitedBody:
            // The end of this body is the connection close, which a hole cannot move: count it.
            body!.noteGap(length)
        case .head:
            interruptMessage(time: time)
        case .chunkSizeLine, .chunkDataEnd, .trailers:
            interruptMessage(time: time)
        case .idle:
            lostFraming()
        case .resync:
            if !carry.isEmpty { flagNext(.skippedUnparsableBytes) }
            skippedBytes &+= carry.count
            carry.removeAll(keepingCapacity: true)
        case .paused:
            // Parse what was held as HTTP, then treat the hole like any other.
            while isPaused { resume(time: time) }
            handleGap(length: length, time: time)
        case .stopped:
            break
        }
    }

    /// No more bytes in this direction: finish the message in progress.
    func end(time: Timestamp) {
        switch state {
        case .closeDelimitedBody:
            completeMessage(time: lastDataTime)
        case .lengthBody, .chunkSizeLine, .chunkData, .chunkDataEnd, .trailers:
            message?.flag(.incompleteMessage)
            bytesParsed &+= carry.count
            carry.removeAll()
            completeMessage(time: lastDataTime)
        case .head:
            salvagePartialHead(flag: .incompleteMessage)
        case .resync:
            skippedBytes &+= carry.count
            carry.removeAll()
        case .idle, .paused, .stopped:
            break
        }
        if case .paused = state { return }
        state = .stopped
    }

    /// Stops parsing for good; held and later bytes count as non-HTTP.
    func stop() {
        if message != nil {
            // E.g. a request body still arriving when the 101 came: report what was seen.
            message?.flag(.incompleteMessage)
            completeMessage(time: lastDataTime)
        }
        state = .stopped
        if let handOff, !carry.isEmpty {
            let held = carry
            carry.removeAll()
            held.withUnsafeBytes { handOff($0, lastDataTime) }
            return
        }
        skippedBytes &+= carry.count
        carry.removeAll()
    }

    /// Leaves `.paused`: the held bytes are parsed as HTTP.
    func resume(time: Timestamp) {
        guard case .paused = state else { return }
        state = .idle
        if !carry.isEmpty { runCarry(time: time) }
    }

    // MARK: The state machine

    /// Parses from `buf`; returns how many bytes were consumed. The caller keeps the rest and
    /// presents it again, followed by new bytes.
    private func run(_ buf: UnsafeRawBufferPointer, time: Timestamp) -> Int {
        let end = buf.count
        var p = 0
        while p < end {
            switch state {
            case .idle:
                let blankStart = p
                while p < end, buf[p] == HTTP1Syntax.cr || buf[p] == HTTP1Syntax.lf { p += 1 }
                bytesParsed &+= p - blankStart
                if p == end { return p }
                state = .head
                section.reset()
                sectionFirstByte = time

            case .head:
                switch section.scan(buf, start: p, isHead: true, role: role, configuration: configuration) {
                case .needMore:
                    return p
                case .invalidStart:
                    if !sawFirstByte { flagNext(.midstreamStart) }
                    flagNext(.skippedUnparsableBytes)
                    sawFirstByte = true
                    // The first byte is certainly not a message start; resync after it.
                    skippedBytes &+= 1
                    p += 1
                    state = .resync
                case .tooLarge:
                    sawFirstByte = true
                    // Only complete lines are used; everything after them is skipped.
                    let consumed = section.scannedBytes
                    message = parseHeadSection(UnsafeRawBufferPointer(rebasing: buf[p..<(p + consumed)]), time: time)
                    message?.flag(.headerTooLarge)
                    announceRequestHead()
                    bytesParsed &+= consumed
                    completeMessage(time: time)
                    skippedBytes &+= end - p - consumed
                    state = .stopped
                    return end
                case .complete(let headEnd):
                    sawFirstByte = true
                    let head = UnsafeRawBufferPointer(rebasing: buf[p..<headEnd])
                    bytesParsed &+= headEnd - p
                    p = headEnd
                    // Bound straight from the call: the message is moved on, not copied.
                    if let parsed = parseHeadSection(head, time: time) { startBody(parsed, time: time) } else { state = .idle }
                }

            case .resync:
                let (position, found) = findMessageStart(buf, from: p)
                if position > p {
                    skippedBytes &+= position - p
                    flagNext(.skippedUnparsableBytes)
                }
                p = position
                if found {
                    state = .head
                    section.reset()
                    sectionFirstByte = time
                } else {
                    return p
                }

            case .lengthBody(let remaining):
                let n = min(remaining, end - p)
                body!.append(UnsafeRawBufferPointer(rebasing: buf[p..<(p + n)]))
                p += n
                bytesParsed &+= n
                if n == remaining {
                    completeMessage(time: time)
                } else {
                    state = .lengthBody(remaining: remaining - n)
                }

            case .closeDelimitedBody:
                body!.append(UnsafeRawBufferPointer(rebasing: buf[p..<end]))
                bytesParsed &+= end - p
                p = end

            case .chunkSizeLine:
                guard let consumed = parseChunkSizeLine(buf, from: p) else {
                    return p
                }
                bytesParsed &+= consumed
                p += consumed

            case .chunkData(let remaining):
                let n = min(remaining, end - p)
                body!.append(UnsafeRawBufferPointer(rebasing: buf[p..<(p + n)]))
                p += n
                bytesParsed &+= n
                state = n == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - n)

            case .chunkDataEnd:
                if buf[p] == HTTP1Syntax.cr {
                    if p + 1 == end { return p }
                    if buf[p + 1] == HTTP1Syntax.lf {
                        p += 2
                        bytesParsed &+= 2
                    } else {
                        message?.flag(.malformedChunkTerminator)
                        p += 1
                        bytesParsed &+= 1
                    }
                } else if buf[p] == HTTP1Syntax.lf {
                    message?.flag(.bareLineFeed)
                    p += 1
                    bytesParsed &+= 1
                } else {
                    // Tolerate a missing CRLF: the next chunk-size line starts here.
                    message?.flag(.malformedChunkTerminator)
                }
                state = .chunkSizeLine

            case .trailers:
                // Almost always the trailer section is just the empty line.
                if section.scannedBytes == 0 && buf[p] == HTTP1Syntax.lf {
                    message?.flag(.bareLineFeed)
                    p += 1
                    bytesParsed &+= 1
                    completeMessage(time: time)
                    continue
                }
                if section.scannedBytes == 0 && buf[p] == HTTP1Syntax.cr {
                    if p + 1 == end { return p }
                    if buf[p + 1] == HTTP1Syntax.lf {
                        p += 2
                        bytesParsed &+= 2
                        completeMessage(time: time)
                        continue
                    }
                }
                switch section.scan(buf, start: p, isHead: false, role: role, configuration: configuration) {
                case .needMore:
                    return p
                case .invalidStart, .tooLarge:
                    message?.flag(.headerTooLarge)
                    bytesParsed &+= end - p
                    completeMessage(time: time)
                    state = .stopped
                    return end
                case .complete(let sectionEnd):
                    parseTrailerSection(UnsafeRawBufferPointer(rebasing: buf[p..<sectionEnd]))
                    bytesParsed &+= sectionEnd - p
                    p = sectionEnd
                    completeMessage(time: time)
                }

            case .paused:
                return p

            case .stopped:
                if let handOff {
                    handOff(UnsafeRawBufferPointer(rebasing: buf[p..<end]), time)
                } else {
                    skippedBytes &+= end - p
                }
                return end
            }
        }
        return p
    }

    // MARK: Heads

    /// Builds the message from a head section scanned by `section`. `head` starts at the
    /// section's first byte; an incomplete head (cut by a gap, the end, or the cap) yields the
    /// complete lines only.
    private func parseHeadSection(_ head: UnsafeRawBufferPointer, time: Timestamp) -> HTTP1Message? {
        let lineEnd = section.startLineEnd
        guard lineEnd >= 0 else { return nil }
        var anomalies = pendingAnomalies
        pendingAnomalies = []
        for anomaly in section.anomalies { anomalies.appendOnce(anomaly) }
        let interesting = section.interesting
        let fields = section.fields(in: head)
        var kind = RequestMethodKind()
        kind.requestsUpgrade = interesting.upgrade
        var built = HTTP1Message(firstByte: sectionFirstByte, lastByte: time)
        // The start line was validated by the scanner, so the fixed positions below exist.
        switch role {
        case .request:
            var i = 0
            while head[i] != HTTP1Syntax.space { i += 1 }
            let method = UnsafeRawBufferPointer(rebasing: head[0..<i])
            while head[i] == HTTP1Syntax.space { i += 1 }
            let targetStart = i
            while i < lineEnd, head[i] != HTTP1Syntax.space { i += 1 }
            let target = UnsafeRawBufferPointer(rebasing: head[targetStart..<i])
            while i < lineEnd, head[i] == HTTP1Syntax.space { i += 1 }
            let version: HTTPVersion
            if i + 8 <= lineEnd, HTTP1Syntax.checkVersion(head, at: i, end: lineEnd, strict: false) != .invalid {
                version = HTTPVersion(major: head[i + 5] &- 0x30, minor: head[i + 7] &- 0x30)
            } else {
                // No (or a mangled) version on the request line, accepted by the tolerant scanner.
                version = .http1_0
                anomalies.appendOnce(.invalidRequestLine)
            }
            kind.isHEAD = HTTP1Syntax.bytesEqual(method, "HEAD")
            kind.isCONNECT = HTTP1Syntax.bytesEqual(method, "CONNECT")
            // The HTTP/2 connection preface (prior knowledge, RFC 9113 §3.4): frames follow.
            if version.major == 2, HTTP1Syntax.bytesEqual(method, "PRI"), target.count == 1, target[0] == UInt8(ascii: "*") {
                built.disposition = .switchedProtocols
            }
            built.requestHead = HTTPRequestHead(
                method: String(decoding: method, as: UTF8.self), target: HTTPText.string(target), version: version, headers: fields)
        case .response:
            let version = HTTPVersion(major: head[5] &- 0x30, minor: head[7] &- 0x30)
            var i = 8
            while head[i] == HTTP1Syntax.space { i += 1 }
            let status = Int(head[i] &- 0x30) * 100 + Int(head[i + 1] &- 0x30) * 10 + Int(head[i + 2] &- 0x30)
            i += 3
            while i < lineEnd, HTTP1Syntax.isOWS(head[i]) { i += 1 }
            let reason = UnsafeRawBufferPointer(rebasing: head[i..<max(i, lineEnd)])
            built.responseHead = HTTPResponseHead(
                version: version, status: status, reason: reason.isEmpty ? "" : HTTPText.string(reason), headers: fields)
        }
        built.anomalies = anomalies
        built.methodKind = kind
        framingInfo = interesting
        headerFields &+= fields.count
        messages &+= 1
        return built
    }

    private func parseTrailerSection(_ trailerSection: UnsafeRawBufferPointer) {
        guard message != nil else { return }
        let trailers = section.fields(in: trailerSection)
        headerFields &+= trailers.count
        message!.trailers = trailers
        for anomaly in section.anomalies { message!.flag(anomaly) }
    }

    // MARK: Framing (RFC 9112 §6.3)

    /// Decides how the body of the message just parsed is delimited, and where parsing goes.
    private func startBody(_ current: consuming HTTP1Message, time: Timestamp) {
        var framing: BodyFraming
        var keep = configuration.keptBodyBytes
        if current.requestHead != nil {
            delegate.parserDidParseRequestHead(current.methodKind)
            framing = lengthFraming(&current, absentMeans: .none, invalidMeans: .none)
        } else {
            let status = current.responseHead?.status ?? 200
            keep = configuration.keptBodyBytes(forStatus: status)
            let request = delegate.requestForNextResponse()
            if status < 200 {
                current.disposition = status == 101 ? .switchedProtocols : .interim
                framing = .none
            } else if request?.isCONNECT == true && status < 300 {
                current.disposition = .tunnel
                framing = .none
            } else if request?.isHEAD == true || status == 204 || status == 304 {
                framing = .none
            } else {
                framing = lengthFraming(&current, absentMeans: .untilClose, invalidMeans: .untilClose)
            }
        }
        if framing != .none {
            var expected: Int? = nil
            if case .length(let n) = framing { expected = n }
            body = BodyAccumulator(contentEncoding: contentCodings(current), configuration: configuration, expectedLength: expected, keep: keep)
        }
        switch framing {
        case .none:
            deliver(consume current, time: time)
            return
        case .length(let n): state = .lengthBody(remaining: n)
        case .chunked: state = .chunkSizeLine
        case .untilClose: state = .closeDelimitedBody
        }
        message = consume current
    }

    /// Transfer-Encoding, then Content-Length. Policy, following RFC 9112 §6.3:
    /// * Transfer-Encoding wins over Content-Length (both present: flagged, a smuggling signal);
    ///   a Transfer-Encoding whose final coding is not chunked reads until close (flagged).
    /// * Several Content-Length values that agree ("42, 42" or repeated fields) are one value;
    ///   disagreeing or non-numeric values are flagged, and the body is then taken as absent
    ///   for a request (resync recovers if bytes follow) and as close-delimited for a response.
    private func lengthFraming(_ current: inout HTTP1Message, absentMeans: BodyFraming, invalidMeans: BodyFraming) -> BodyFraming {
        let info = framingInfo
        if info.transferEncodingCount == 0 && info.contentLengthCount == 0 { return absentMeans }
        let headers = current.headers
        if info.transferEncodingCount > 0 {
            if info.contentLengthCount > 0 { current.flag(.contentLengthWithTransferEncoding) }
            var last: String? = nil
            for i in headers.indexes(named: "transfer-encoding") {
                if let coding = HTTP1Syntax.lowercasedListElements(headers.valueBytes(at: i)).last { last = coding }
            }
            if last == "chunked" { return .chunked }
            current.flag(.unsupportedTransferEncoding)
            return .untilClose
        }
        var agreed: Int? = nil
        var valid = true
        if info.contentLengthCount == 1 {
            headers.storage.withUnsafeBytes { storage in
                let span = headers.spans[Int(info.contentLength)]
                let value = UnsafeRawBufferPointer(rebasing: storage[Int(span.valueStart)..<Int(span.valueEnd)])
                if let n = HTTP1Syntax.decimalValue(value) { agreed = n } else { valid = false }
            }
        }
        if info.contentLengthCount > 1 || (!valid && agreed == nil) {
            valid = true
            agreed = nil
            for i in headers.indexes(named: "content-length") {
                for element in HTTP1Syntax.lowercasedListElements(headers.valueBytes(at: i)) {
                    guard let n = element.utf8.withContiguousStorageIfAvailable({ HTTP1Syntax.decimalValue(UnsafeRawBufferPointer($0)) }) ?? nil,
                          agreed == nil || agreed == n
                    else { valid = false; break }
                    agreed = n
                }
            }
        }
        guard valid, let length = agreed else {
            current.flag(.invalidContentLength)
            return invalidMeans
        }
        return length == 0 ? .none : .length(length)
    }

    private func contentCodings(_ current: HTTP1Message) -> [String] {
        guard framingInfo.contentEncodingCount > 0 else { return [] }
        var codings: [String] = []
        let headers = current.headers
        for i in headers.indexes(named: "content-encoding") {
            codings += HTTP1Syntax.lowercasedListElements(headers.valueBytes(at: i))
        }
        return codings
    }

    /// Parses `size [; ext] CRLF`. Returns bytes consumed, or nil when the line is incomplete.
    private func parseChunkSizeLine(_ buf: UnsafeRawBufferPointer, from p: Int) -> Int? {
        let maxLine = 4096
        guard let lineFeed = HTTP1Syntax.firstLineFeed(buf, from: p, to: min(buf.count, p + maxLine)) else {
            if buf.count - p < maxLine { return nil }
            message?.flag(.invalidChunkSize)
            failFraming(time: lastDataTime)
            return 0
        }
        var i = p
        var size = 0
        while i < lineFeed, let digit = HTTP1Syntax.hexValue(buf[i]) {
            if size > (Int.max >> 5) { break }
            size = size << 4 | digit
            i += 1
        }
        var valid = i > p
        // Whitespace before an extension or the line end is tolerated (llhttp does too).
        while i < lineFeed, HTTP1Syntax.isOWS(buf[i]) { i += 1 }
        if i < lineFeed && buf[i] != 0x3B && !(buf[i] == HTTP1Syntax.cr && i + 1 == lineFeed) { valid = false }
        if !valid {
            message?.flag(.invalidChunkSize)
            failFraming(time: lastDataTime)
            return 0
        }
        if lineFeed == p || buf[lineFeed - 1] != HTTP1Syntax.cr { message?.flag(.bareLineFeed) }
        if size == 0 {
            state = .trailers
            section.reset()
        } else {
            state = .chunkData(remaining: size)
        }
        return lineFeed + 1 - p
    }

    /// The chunk framing is broken: end the message and look for the next one.
    private func failFraming(time: Timestamp) {
        completeMessage(time: time)
        state = .resync
    }

    // MARK: Message boundaries

    private func completeMessage(time: Timestamp) {
        guard let finished = message.take() else { state = .idle; return }
        deliver(finished, time: time)
    }

    /// Hands a finished message to the delegate and picks the next state.
    private func deliver(_ finished: consuming HTTP1Message, time: Timestamp) {
        if var collected = body.take() {
            finished.body = collected.finish()
            for anomaly in collected.anomalies { finished.flag(anomaly) }
            bodyWireBytes &+= finished.body.wireLength
        }
        finished.lastByte = time
        switch finished.disposition {
        case .switchedProtocols:
            finished.flag(.protocolSwitched)
            state = .stopped
        case .tunnel:
            finished.flag(.tunnelEstablished)
            state = .stopped
        case .normal where finished.methodKind.requestsUpgrade || finished.methodKind.isCONNECT:
            state = role == .request ? .paused : .idle
        case .normal, .interim:
            state = .idle
        }
        delegate.parserDidComplete(finished, role: role)
    }

    /// A gap cut the head or the framing: keep what was parsed, then resynchronise.
    private func interruptMessage(time: Timestamp) {
        switch state {
        case .head:
            salvagePartialHead(flag: .messageInterruptedByGap)
        default:
            message?.flag(.messageInterruptedByGap)
            if body != nil { body!.noteGap(0) }
            bytesParsed &+= carry.count
            carry.removeAll(keepingCapacity: true)
            completeMessage(time: lastDataTime)
        }
        lostFraming()
    }

    /// A head cut short: if its start line is complete, report the lines seen so far.
    private func salvagePartialHead(flag anomaly: HTTPAnomaly) {
        // Complete the line scan over what is held, so every whole line is used.
        _ = carry.withUnsafeBytes { section.scan($0, start: 0, isHead: true, role: role, configuration: configuration) }
        if section.startLineEnd >= 0 {
            carry.withUnsafeBytes { held in
                message = parseHeadSection(UnsafeRawBufferPointer(rebasing: held[0..<section.scannedBytes]), time: lastDataTime)
            }
            message?.flag(anomaly)
            if let status = message?.responseHead?.status, status < 200, status != 101 { message?.disposition = .interim }
            announceRequestHead()
            bytesParsed &+= carry.count
            completeMessage(time: lastDataTime)
        } else {
            skippedBytes &+= carry.count
        }
        carry.removeAll(keepingCapacity: true)
        state = .idle
    }

    private func announceRequestHead() {
        if role == .request, let current = message { delegate.parserDidParseRequestHead(current.methodKind) }
    }

    /// After a hole outside a body the next bytes may be anywhere in a message.
    private func lostFraming() {
        guard !isStopped else { return }
        if !carry.isEmpty {
            skippedBytes &+= carry.count
            flagNext(.skippedUnparsableBytes)
            carry.removeAll(keepingCapacity: true)
        }
        state = .resync
        sawFirstByte = true
        delegate.parserMayHaveLostMessages(role: role)
    }

    private func flagNext(_ anomaly: HTTPAnomaly) {
        pendingAnomalies.appendOnce(anomaly)
    }

    // MARK: Resync

    /// Scans for a plausible message start. Returns its position and true, or the position
    /// from which bytes must be kept (a candidate needing more bytes, or the end) and false.
    private func findMessageStart(_ buf: UnsafeRawBufferPointer, from start: Int) -> (Int, Bool) {
        let end = buf.count
        var i = start
        while i < end {
            let b = buf[i]
            let candidate = role == .response ? b == 0x48 : b &- 0x41 < 26
            if candidate {
                let check = role == .request
                    ? HTTP1Syntax.checkRequestLine(buf, from: i, strict: true, limit: HTTP1Syntax.resyncLineLimit)
                    : HTTP1Syntax.checkStatusLine(buf, from: i, strict: true, limit: HTTP1Syntax.resyncLineLimit)
                switch check {
                case .valid: return (i, true)
                case .needMore: return (i, false)
                case .invalid: break
                }
            }
            i += 1
        }
        return (end, false)
    }
}

extension Array where Element == HTTPAnomaly {
    mutating func appendOnce(_ anomaly: HTTPAnomaly) {
        if !contains(anomaly) { append(anomaly) }
    }
}

extension HTTP1Syntax {
    @inline(__always)
    static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30)
        case 0x41...0x46: return Int(b - 0x41 + 10)
        case 0x61...0x66: return Int(b - 0x61 + 10)
        default: return nil
        }
    }

    /// A non-negative decimal with optional surrounding whitespace; nil when not a number or
    /// absurdly large.
    static func decimalValue(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        var end = bytes.count
        while i < end, isOWS(bytes[i]) { i += 1 }
        while end > i, isOWS(bytes[end - 1]) { end -= 1 }
        guard i < end, end - i <= 18 else { return nil }
        var value = 0
        while i < end {
            guard isDigit(bytes[i]) else { return nil }
            value = value * 10 + Int(bytes[i] - 0x30)
            i += 1
        }
        return value
    }

    static func bytesEqual(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        for k in 0..<bytes.count where bytes[k] != text.utf8Start[k] { return false }
        return true
    }
}
