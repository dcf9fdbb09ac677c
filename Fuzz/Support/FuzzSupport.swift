// Shared by the fuzz targets (Fuzz/Targets/*): a reader that turns libFuzzer's bytes into
// structured values, a scratch file for APIs that read paths, and checks that stop the run.
#if canImport(Glibc)
import Glibc
#endif

/// Consumes the fuzz input front to back. Every read succeeds: past the end it yields zeros
/// (and `isAtEnd` says so), so a target never has to handle a short input specially.
public struct FuzzReader {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { position >= bytes.count }
    public var remaining: Int { max(0, bytes.count - position) }

    public mutating func u8() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }
    public mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }
    public mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }
    public mutating func bool() -> Bool { u8() & 1 == 1 }

    /// A value in `0..<count` (0 when `count` is 0).
    public mutating func below(_ count: Int) -> Int {
        guard count > 0 else { return 0 }
        return count <= 256 ? Int(u8()) % count : Int(u16()) % count
    }

    /// One of `choices`.
    public mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }

    /// Up to `count` bytes (fewer at the end of the input).
    public mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let start = min(position, bytes.count)
        let end = min(bytes.count, start + max(0, count))
        position = end
        return bytes[start..<end]
    }

    /// Everything not read yet.
    public mutating func rest() -> ArraySlice<UInt8> { take(remaining) }

    /// A string of at most `maxLength` bytes (length first), any bytes: decoded as UTF-8 with
    /// invalid sequences repaired, as the parsers' own strings are.
    public mutating func rawString(maxLength: Int = 64) -> String {
        String(decoding: take(below(maxLength + 1)), as: UTF8.self)
    }

    /// Mostly one of `choices` (so the fuzzer reaches deep paths quickly), sometimes raw bytes.
    public mutating func string(_ choices: [String], maxLength: Int = 64) -> String {
        let selector = u8()
        if selector < 200 { return choices[Int(selector) % choices.count] }
        if selector < 230 { return choices[Int(selector) % choices.count] + rawString(maxLength: 8) }
        return rawString(maxLength: maxLength)
    }
}

/// Writes a line to standard error (unbuffered: the process may abort next).
public func printError(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Hands the process to libFuzzer's driver (`LLVMFuzzerRunDriver`) with the target's
/// `LLVMFuzzerTestOneInput` (passed in: `runFuzzer(fuzzSomething)`): the one statement of a target's top-level code. (SwiftPM makes an
/// executable's top-level code its `main`, so libFuzzer's own `main` is not the entry point.)
public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

public func runFuzzer(_ test: TestOneInput) -> Never {
    typealias Driver = @convention(c) (UnsafeMutablePointer<CInt>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>, TestOneInput) -> CInt
    let handle = dlopen(nil, RTLD_NOW)
    guard let driver = dlsym(handle, "LLVMFuzzerRunDriver") else {
        printError("LLVMFuzzerRunDriver not found: build with -sanitize=fuzzer")
        exit(2)
    }
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(unsafeBitCast(driver, to: Driver.self)(&argc, &argv, test))
}

/// Stops the run with a message libFuzzer records as a crash (and saves the input for).
public func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        printError("fuzz check failed at \(file):\(line): \(message())")
        abort()
    }
}

/// A file of this process that holds the current input, for APIs that read a path (libpcap,
/// zlib's gzopen, the HAR reader). Rewritten in place for each input; removed at exit.
public final class ScratchFile {
    public let path: String
    private let descriptor: Int32

    public init(suffix: String) {
        // tmpfs when there is one: on ext4, truncating a file to 0 starts its writeback.
        let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        path = "\(dir)/corscope-fuzz-\(getpid())-\(suffix)"
        descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            printError("cannot create \(path)")
            abort()
        }
        ScratchFile.paths.append(path)
        if ScratchFile.paths.count == 1 { atexit { for p in ScratchFile.paths { unlink(p) } } }
    }

    nonisolated(unsafe) private static var paths: [String] = []

    /// Replaces the file's content with `bytes`.
    public func write<C: Collection<UInt8>>(_ bytes: C) {
        ftruncate(descriptor, 0)
        let array = Array(bytes)
        var written = 0
        while written < array.count {
            let n = array.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + written, array.count - written, off_t(written)) }
            guard n > 0 else { printError("cannot write \(path)"); abort() }
            written += n
        }
    }
}

/// Whether `text` is an RFC 3339 date-time (`2026-11-22T22:15:08.306Z`, an offset allowed):
/// four-digit year, month 1–12, a day that month has, hour < 24, minute < 60, second ≤ 60.
public func isRFC3339(_ text: String) -> Bool {
    let b = Array(text.utf8)
    func digits(_ from: Int, _ count: Int) -> Int? {
        guard from + count <= b.count else { return nil }
        var value = 0
        for i in from..<(from + count) {
            guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
            value = value * 10 + Int(b[i] - 0x30)
        }
        return value
    }
    guard b.count >= 20, let year = digits(0, 4), b[4] == 0x2D, let month = digits(5, 2), b[7] == 0x2D,
          let day = digits(8, 2), b[10] == 0x54 || b[10] == 0x74, let hour = digits(11, 2), b[13] == 0x3A,
          let minute = digits(14, 2), b[16] == 0x3A, let second = digits(17, 2) else { return false }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    guard (1...12).contains(month), day >= 1, day <= monthDays[month - 1], hour < 24, minute < 60, second <= 60 else {
        return false
    }
    var i = 19
    if i < b.count, b[i] == 0x2E {
        i += 1
        let start = i
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
        guard i > start else { return false }
    }
    guard i < b.count else { return false }
    if b[i] == 0x5A || b[i] == 0x7A { return i + 1 == b.count }
    guard b[i] == 0x2B || b[i] == 0x2D, let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 0x3A,
          let om = digits(i + 4, 2), i + 6 == b.count else { return false }
    return oh < 24 && om < 60
}

/// The capture times every input can carry once normalised at the edge: years 0000–9999 (what
/// RFC 3339 can write) and a fraction below one second.
public func isNormalisedTime(seconds: Int64, nanoseconds: Int32) -> Bool {
    nanoseconds >= 0 && nanoseconds < 1_000_000_000 && seconds >= -62_167_219_200 && seconds <= 253_402_300_799
}

/// NDJSON (docs/exchange-json.md): every `"firstByte":` or `"lastByte":` value is
/// `-?digits.9digits` or null.
public func checkNDJSONTimes(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    for key in ["\"firstByte\":", "\"lastByte\":"] {
        var rest = text[...]
        while let range = rest.firstRange(of: key) {
            rest = rest[range.upperBound...]
            let value = rest.prefix { $0 != "," && $0 != "}" }
            guard value != "null" else { continue }
            let parts = value.split(separator: ".", omittingEmptySubsequences: false)
            let ok = parts.count == 2 && parts[1].count == 9 && parts[1].allSatisfy(\.isASCII) && parts[1].allSatisfy(\.isNumber)
                && !parts[0].isEmpty && parts[0].drop { $0 == "-" }.allSatisfy { $0.isASCII && $0.isNumber }
            fuzzCheck(ok, "time written as \(value)")
        }
    }
}

