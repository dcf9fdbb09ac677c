/// Scans one head or trailer section in a single pass: finds each line end, and collects the
/// byte ranges of each field as its line completes, so a section cut by a segment boundary
/// resumes where it stopped (all offsets are relative to the section's first byte, which
/// stays at offset 0 of the parser's unconsumed bytes).
struct HTTP1SectionScanner {
    enum Progress: Equatable {
        case needMore
        /// The section ends just before `end` (absolute index of the byte after the empty line).
        case complete(end: Int)
        /// The first line is not a start line (heads only).
        case invalidStart
        /// The section exceeds the byte or line cap.
        case tooLarge
    }

    /// Positions of the fields that decide framing and decoding, noted while scanning so they
    /// need no second lookup.
    struct InterestingFields {
        var contentLength: Int32 = -1
        var contentLengthCount = 0
        var transferEncodingCount = 0
        var contentEncodingCount = 0
        var upgrade = false
    }

    /// Bytes of complete lines scanned so far (the next line starts here).
    private(set) var scannedBytes = 0
    /// End of the start line without CR/LF (heads), or -1 while it is incomplete.
    private(set) var startLineEnd = -1
    private(set) var lineCount = 0
    private(set) var fieldCount = 0
    /// Field ranges; a negative `nameStart` marks an obs-fold continuation of the previous value.
    private(set) var pieces: [HTTPHeaderFields.Span] = []
    private(set) var anomalies: [HTTPAnomaly] = []
    private(set) var interesting = InterestingFields()

    mutating func reset() {
        scannedBytes = 0
        startLineEnd = -1
        lineCount = 0
        fieldCount = 0
        pieces.removeAll(keepingCapacity: true)
        if !anomalies.isEmpty { anomalies.removeAll() }
        interesting = InterestingFields()
    }

    /// Continues scanning the section that starts at `start` in `buf`.
    mutating func scan(_ buf: UnsafeRawBufferPointer, start: Int, isHead: Bool, role: HTTP1Role, configuration: HTTPConfiguration) -> Progress {
        let end = buf.count
        if isHead && lineCount == 0 {
            let check = role == .request
                ? HTTP1Syntax.checkRequestLine(buf, from: start, strict: false, limit: configuration.maxHeadBytes)
                : HTTP1Syntax.checkStatusLine(buf, from: start, strict: false, limit: configuration.maxHeadBytes)
            if check == .invalid { return .invalidStart }
            if check == .needMore { return .needMore }
        }
        let limit = min(end, start + configuration.maxHeadBytes)
        let maxLines = configuration.maxHeaderFields + 1
        var lineStart = start + scannedBytes
        while let lineFeed = HTTP1Syntax.firstLineFeed(buf, from: lineStart, to: limit) {
            lineCount += 1
            scannedBytes = lineFeed + 1 - start
            var lineEnd = lineFeed
            if lineEnd > lineStart && buf[lineEnd - 1] == HTTP1Syntax.cr { lineEnd -= 1 } else { anomalies.appendOnce(.bareLineFeed) }
            if isHead && lineCount == 1 {
                startLineEnd = lineEnd - start
            } else if lineEnd == lineStart {
                return .complete(end: lineFeed + 1)
            } else if lineCount > maxLines {
                return .tooLarge
            } else {
                collectField(buf, sectionStart: start, lineStart: lineStart, lineEnd: lineEnd, maxFields: configuration.maxHeaderFields)
            }
            lineStart = lineFeed + 1
        }
        return end - start >= configuration.maxHeadBytes ? .tooLarge : .needMore
    }

    /// The collected fields, copied out of `section` (which starts at the section's first byte).
    func fields(in section: UnsafeRawBufferPointer) -> HTTPHeaderFields {
        pieces.withUnsafeBufferPointer { HTTPHeaderFields(copying: section, pieces: $0) }
    }

    private mutating func collectField(_ buf: UnsafeRawBufferPointer, sectionStart: Int, lineStart start: Int, lineEnd end: Int, maxFields: Int) {
        let first = buf[start]
        if first == HTTP1Syntax.space || first == HTTP1Syntax.tab {
            // obs-fold: the line continues the previous value, joined by one space.
            var valueStart = start
            while valueStart < end, HTTP1Syntax.isOWS(buf[valueStart]) { valueStart += 1 }
            var valueEnd = end
            while valueEnd > valueStart, HTTP1Syntax.isOWS(buf[valueEnd - 1]) { valueEnd -= 1 }
            guard fieldCount > 0, fieldCount <= maxFields else {
                if fieldCount == 0 { anomalies.appendOnce(.malformedHeaderLine) }
                return
            }
            anomalies.appendOnce(.obsoleteLineFolding)
            checkUTF8(buf, valueStart, valueEnd)
            pieces.append(HTTPHeaderFields.Span(
                nameStart: -1, nameEnd: -1,
                valueStart: Int32(truncatingIfNeeded: valueStart - sectionStart), valueEnd: Int32(truncatingIfNeeded: valueEnd - sectionStart)))
            return
        }

        let colon = HTTP1Syntax.firstIndex(of: HTTP1Syntax.colon, buf, from: start, to: end)
        if colon == end || colon == start {
            anomalies.appendOnce(.malformedHeaderLine)
            return
        }
        var nameEnd = colon
        if !HTTP1Syntax.allTokens(buf, start, colon) {
            // "Name : value" is common enough to keep (flagged); anything else is dropped.
            while nameEnd > start, HTTP1Syntax.isOWS(buf[nameEnd - 1]) { nameEnd -= 1 }
            if nameEnd > start && nameEnd < colon && HTTP1Syntax.allTokens(buf, start, nameEnd) {
                anomalies.appendOnce(.whitespaceBeforeColon)
            } else {
                anomalies.appendOnce(.malformedHeaderLine)
                return
            }
        }
        if fieldCount >= maxFields {
            anomalies.appendOnce(.headerTooLarge)
            fieldCount += 1 // later fold lines must not attach to a dropped field
            return
        }
        var valueStart = colon + 1
        while valueStart < end, HTTP1Syntax.isOWS(buf[valueStart]) { valueStart += 1 }
        var valueEnd = end
        while valueEnd > valueStart, HTTP1Syntax.isOWS(buf[valueEnd - 1]) { valueEnd -= 1 }
        checkUTF8(buf, valueStart, valueEnd)

        let index = Int32(truncatingIfNeeded: fieldCount)
        switch nameEnd - start {
        case 14 where HTTP1Syntax.nameEquals(buf, start, nameEnd, "content-length"):
            if interesting.contentLength < 0 { interesting.contentLength = index }
            interesting.contentLengthCount += 1
        case 17 where HTTP1Syntax.nameEquals(buf, start, nameEnd, "transfer-encoding"):
            interesting.transferEncodingCount += 1
        case 16 where HTTP1Syntax.nameEquals(buf, start, nameEnd, "content-encoding"):
            interesting.contentEncodingCount += 1
        case 7 where HTTP1Syntax.nameEquals(buf, start, nameEnd, "upgrade"):
            interesting.upgrade = true
        default:
            break
        }
        // Offsets fit in Int32: a section is at most `maxHeadBytes` (≤ 1 GiB, see the configuration).
        pieces.append(HTTPHeaderFields.Span(
            nameStart: Int32(truncatingIfNeeded: start - sectionStart), nameEnd: Int32(truncatingIfNeeded: nameEnd - sectionStart),
            valueStart: Int32(truncatingIfNeeded: valueStart - sectionStart), valueEnd: Int32(truncatingIfNeeded: valueEnd - sectionStart)))
        fieldCount += 1
    }

    @inline(__always)
    private mutating func checkUTF8(_ buf: UnsafeRawBufferPointer, _ start: Int, _ end: Int) {
        if HTTP1Syntax.containsHighBytes(buf, start, end) && !HTTP1Syntax.isValidUTF8(UnsafeRawBufferPointer(rebasing: buf[start..<end])) {
            anomalies.appendOnce(.nonUTF8HeaderBytes)
        }
    }
}
