// The NSS key log parser: the input is text for `TLSKeyStore.add(keyLog:source:firstLineNumber:)`,
// given whole to one store and in two parts (cut at the first byte's position, the second part
// numbered on from the first's lines) to another.
// Checks: every problem's line number is within the text's lines (a final line without a newline
// counts); the two stores report the same problems (the same lines, the same reasons) and know
// the same number of client randoms, at most one per line.
// fuzz-options: -dict=Fuzz/dict/tls.dict -max_len=8192
import CorscopeTLS
import FuzzSupport

/// Lines of `text` as the key log counts them: newline-terminated ones, and a last one without.
func lineCount<C: BidirectionalCollection<UInt8>>(_ text: C) -> Int {
    let newlines = text.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    return newlines + (text.last.map { $0 != UInt8(ascii: "\n") } ?? false ? 1 : 0)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLSKeyLog(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = Array(UnsafeBufferPointer(start: data, count: size))
    let lines = lineCount(text)
    let whole = TLSKeyStore()
    let problems = whole.add(keyLog: text, source: "fuzz.keylog")
    for problem in problems {
        fuzzCheck(problem.line >= 1 && problem.line <= lines, "problem on line \(problem.line) of \(lines): \(problem.reason)")
        fuzzCheck(!problem.reason.isEmpty, "a problem without a reason on line \(problem.line)")
    }
    fuzzCheck(whole.clientRandomCount <= lines, "\(whole.clientRandomCount) client randoms from \(lines) lines")

    // The same text in two parts, cut after a newline (as a followed file is read).
    guard let first = text.first, let cut = text.prefix(Int(first) * 32).lastIndex(of: UInt8(ascii: "\n")) else { return 0 }
    let head = Array(text[...cut]), tail = Array(text[(cut + 1)...])
    let parts = TLSKeyStore()
    var partProblems = parts.add(keyLog: head, source: "fuzz.keylog")
    partProblems += parts.add(keyLog: tail, source: "fuzz.keylog", firstLineNumber: lineCount(head) + 1)
    fuzzCheck(partProblems == problems, "in two parts: \(partProblems), whole: \(problems)")
    fuzzCheck(parts.clientRandomCount == whole.clientRandomCount,
              "in two parts: \(parts.clientRandomCount) client randoms, whole: \(whole.clientRandomCount)")
    return 0
}

runFuzzer(fuzzTLSKeyLog)
