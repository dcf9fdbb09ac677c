// swift-tools-version:6.0
import PackageDescription

// Modules follow the data flow: capture → reassembly → TLS → HTTP/1 | HTTP/2 (and HAR files) →
// exchanges → pairing → browser rules → verdicts → reports → CLI.
let package = Package(
    name: "corscope",
    products: [
        .executable(name: "corscope", targets: ["corscope"]),
        // The browser-rule engine is pure (no I/O, no globals) so any tool can call it.
        .library(name: "BrowserRules", targets: ["BrowserRules"]),
        .library(name: "CorscopePipeline", targets: ["CorscopeExchanges", "CorscopeVerdicts", "CorscopeReports"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // AEAD, HKDF, HMAC and SHA-2 for TLS decryption (BoringSSL underneath): no cipher by hand.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // NIOHPACK: the independent HPACK encoder the tests check our HPACK decoder against.
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(name: "CorscopeCapture", dependencies: ["CPcap", "CZlib"]),
        .target(name: "CorscopeReassembly", dependencies: ["CorscopeCapture"]),
        // TLS: records, handshakes and key schedules; decrypts with NSS key log secrets and hands
        // the plaintext on to the HTTP analyzers as a byte stream of its own.
        .target(name: "CorscopeTLS", dependencies: ["CorscopeReassembly", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CorscopeHTTP", dependencies: ["CorscopeReassembly", "CZlib"]),
        .target(name: "CorscopeHTTP2", dependencies: ["CorscopeHTTP"]),
        .target(name: "CorscopeHAR", dependencies: ["CorscopeHTTP"]),
        // Secrets out of every output (reports, NDJSON, terminal lines), decided on header bytes.
        .target(name: "CorscopeRedaction", dependencies: ["CorscopeHTTP"]),
        .target(name: "CorscopeExchanges", dependencies: ["CorscopeCapture", "CorscopeReassembly", "CorscopeTLS", "CorscopeHTTP", "CorscopeHTTP2", "CorscopeHAR", "CorscopeRedaction"]),
        .target(name: "CorscopePairing", dependencies: ["CorscopeHTTP"]),
        .target(name: "BrowserRules"),
        .target(name: "CorscopeVerdicts", dependencies: ["CorscopeExchanges", "CorscopePairing", "CorscopeRedaction", "BrowserRules"]),
        .target(name: "CorscopeReports", dependencies: ["CorscopeVerdicts", "CorscopeExchanges", "CorscopeRedaction", "BrowserRules"]),
        .target(
            name: "CorscopeCLI",
            dependencies: [
                "CorscopeExchanges", "CorscopeTLS", "CorscopeVerdicts", "BrowserRules", "CorscopeReports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "corscope", dependencies: ["CorscopeCLI"]),
        // Shared by the test targets only: package paths, seeded randomness, tshark.
        .target(name: "CorscopeTestSupport", path: "Tests/CorscopeTestSupport"),
        .testTarget(name: "CorscopeCaptureTests", dependencies: ["CorscopeCapture", "CorscopeTestSupport"]),
        .testTarget(name: "CorscopeReassemblyTests", dependencies: ["CorscopeReassembly", "CorscopeTestSupport"]),
        .testTarget(name: "CorscopeTLSTests", dependencies: ["CorscopeTLS", "CorscopeCapture", "CorscopeReassembly", "CorscopeTestSupport"]),
        // NIOHPACK's encoder is the independent side the HPACK decoder is checked against.
        .testTarget(name: "CorscopeHTTP2Tests", dependencies: ["CorscopeHTTP2", "CorscopeHTTP", "CorscopeCapture", "CorscopeReassembly", "CorscopeTestSupport",
                                                              .product(name: "NIOHPACK", package: "swift-nio-http2"),
                                                              .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "CorscopeHTTPTests", dependencies: ["CorscopeHTTP", "CorscopeCapture", "CorscopeReassembly", "CZlib", "CorscopeTestSupport"]),
        .testTarget(name: "CorscopeExchangesTests", dependencies: ["CorscopeExchanges", "CorscopeTLS", "CorscopeHTTP2", "CorscopeTestSupport"]),
        .testTarget(name: "CorscopePairingTests", dependencies: ["CorscopePairing", "CorscopeExchanges"]),
        .testTarget(name: "CorscopeHARTests", dependencies: ["CorscopeHAR", "CorscopeHTTP", "CorscopeTestSupport"]),
        .testTarget(name: "BrowserRulesTests", dependencies: ["BrowserRules"]),
        .testTarget(name: "CorscopeVerdictsTests", dependencies: ["CorscopeVerdicts", "CorscopeTLS", "CorscopeTestSupport"]),
        .testTarget(name: "CorscopeCLITests", dependencies: ["CorscopeCLI", "CorscopeTestSupport"]),
        .testTarget(
            name: "CorscopeReportsTests",
            dependencies: ["CorscopeReports", "CorscopeVerdicts", "CorscopeExchanges", "CorscopeHTTP", "BrowserRules", "CorscopeTestSupport"]
        ),
    ]
)

// Fuzz targets (`make fuzz`, `make fuzz-smoke`; README "Fuzzing"): only with CORSCOPE_FUZZ set, so
// a plain `swift build`/`swift test` never sees them: libFuzzer supplies `main`, and they link
// only with `-sanitize=fuzzer` (their top-level code hands over to libFuzzer's driver, as SwiftPM
// names an executable's entry point itself). Every folder Fuzz/Targets/<Name>/ is one executable target; it
// depends on FuzzSupport and on the package's modules its sources import, so adding a target is
// adding one folder with one file.
import Foundation
if Context.environment["CORSCOPE_FUZZ"] != nil {
    let root = Context.packageDirectory + "/Fuzz/Targets"
    let modules = Set(package.targets.map(\.name))
    // Packages' products a target may import too (FuzzHPACK checks corscope's HPACK against NIOHPACK's).
    let products: [String: Target.Dependency] = [
        "NIOHPACK": .product(name: "NIOHPACK", package: "swift-nio-http2"),
        "NIOCore": .product(name: "NIOCore", package: "swift-nio"),
    ]
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["CorscopeHTTP"], path: "Fuzz/Support"))
    for name in names where !name.hasPrefix(".") {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + name)) ?? []
        let text = files.filter { $0.hasSuffix(".swift") }
            .compactMap { try? String(contentsOfFile: root + "/" + name + "/" + $0, encoding: .utf8) }.joined(separator: "\n")
        let imported = Set(text.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard let at = words.firstIndex(of: "import"), at + 1 < words.count else { return nil }
            return String(words[at + 1])
        }).sorted()
        package.targets.append(.executableTarget(
            name: name,
            dependencies: ["FuzzSupport"] + imported.filter(modules.contains).map { .target(name: $0) } + imported.compactMap { products[$0] },
            path: "Fuzz/Targets/" + name,
            linkerSettings: [.unsafeFlags(["-Xlinker", "--undefined=LLVMFuzzerRunDriver", "-Xlinker", "--export-dynamic-symbol=LLVMFuzzerRunDriver"])]))
    }
}
