import Foundation
import XCTest

/// What several test targets need: the package's paths, reproducible randomness, and the peers
/// (tshark, Python) the differential tests run.
public enum PackagePaths {
    /// The package root (the folder holding Package.swift).
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// `../shared/public-captures`, or a visible skip when a fresh clone has no `../shared`.
    public static func publicCaptures() throws -> URL {
        let folder = root.deletingLastPathComponent().appendingPathComponent("shared/public-captures")
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw XCTSkip("../shared/public-captures is absent (a fresh clone has no ../shared): skipped")
        }
        return folder
    }
}

/// Deterministic pseudo-random numbers (SplitMix64), so failures reproduce.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public enum ExternalTool {
    /// tshark's path; `make test` installs it, a bare `swift test` may not have it.
    public static func tshark() throws -> String {
        for path in ["/usr/bin/tshark", "/usr/local/bin/tshark"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw XCTSkip("tshark is not installed: run `make test`, which installs it, for the differential tests")
    }

    /// Runs a program to completion and returns its standard output (standard error discarded;
    /// the exit status is not checked). A program still running after `timeout` seconds is
    /// killed and reaped, and the call throws saying so.
    public static func output(of executable: String, _ arguments: [String], timeout: Double = 300) throws -> String {
        try ChildProcess.run(executable, arguments, stderr: .discard, timeout: timeout).requireExit().stdout
    }
}

/// Compares byte streams without dumping kilobytes of decimal bytes on failure.
public func assertSameBytes(_ actual: [UInt8], _ expected: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
    guard actual != expected else { return }
    let firstDifference = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        ?? min(actual.count, expected.count)
    XCTFail("streams differ: \(actual.count) vs \(expected.count) bytes, first difference at byte \(firstDifference)",
            file: file, line: line)
}

/// pcapng files taken apart block by block (little-endian sections, as editcap and dumpcap write
/// them here), for deriving edge cases from real recordings.
public enum PcapngBlocks {
    public static func blocks(_ data: [UInt8]) -> [[UInt8]] {
        var blocks: [[UInt8]] = []
        var at = 0
        while at + 8 <= data.count {
            let length = Int(data[at + 4]) | Int(data[at + 5]) << 8 | Int(data[at + 6]) << 16 | Int(data[at + 7]) << 24
            guard length >= 12 else { break }
            blocks.append(Array(data[at..<min(data.count, at + length)]))
            at += length
        }
        return blocks
    }

    public static func type(_ block: [UInt8]) -> UInt32 {
        UInt32(block[0]) | UInt32(block[1]) << 8 | UInt32(block[2]) << 16 | UInt32(block[3]) << 24
    }

    /// The file's Decryption Secrets Blocks (type 0x0A) moved to just after its packet block
    /// number `packets` (Enhanced Packet Blocks, type 6), as a writer that learns keys during a
    /// capture places them; nil when the file has no such block or fewer packets.
    public static func movingSecrets(_ data: [UInt8], afterPackets packets: Int) -> [UInt8]? {
        var blocks = blocks(data)
        let secrets = blocks.filter { type($0) == 0x0A }
        guard !secrets.isEmpty else { return nil }
        blocks.removeAll { type($0) == 0x0A }
        var seen = 0
        guard let at = blocks.firstIndex(where: { block in
            if type(block) == 6 { seen += 1 }
            return seen == packets && type(block) == 6
        }) else { return nil }
        blocks.insert(contentsOf: secrets, at: at + 1)
        return Array(blocks.joined())
    }
}
