import ArgumentParser
import CorscopeTLS
#if canImport(Glibc)
import Glibc
#endif

/// The key logs TLS is decrypted with, as Wireshark users give them: NSS key log files that
/// browsers and curl write when `SSLKEYLOGFILE` is set.
struct TLSKeyLogOptions: ParsableArguments {
    @Option(name: .customLong("tls-keylog"),
            help: ArgumentHelp("Decrypt TLS with this NSS key log (the file browsers and curl write when SSLKEYLOGFILE is set; repeatable). Default: $SSLKEYLOGFILE when set. A pcapng's own Decryption Secrets Blocks (editcap --inject-secrets) are always used.", valueName: "file"),
            completion: .file())
    var keyLogs: [String] = []

    /// The files to read: the options, else `$SSLKEYLOGFILE` when it names a file.
    var paths: [String] {
        if !keyLogs.isEmpty { return keyLogs }
        guard let variable = getenv("SSLKEYLOGFILE").map({ String(cString: $0) }), !variable.isEmpty else { return [] }
        return [variable]
    }

    /// Whether the key logs come from `$SSLKEYLOGFILE` (a missing file is then a warning, not an error:
    /// the variable may be set for another program).
    var fromEnvironment: Bool { keyLogs.isEmpty }

    /// A key store with every key log read, and the lines that could not be read. A key log
    /// named by an option that cannot be read is an error (`watch` follows its files instead,
    /// which the browser may create later).
    func keyStore() throws -> (TLSKeyStore, [String]) {
        let store = TLSKeyStore()
        var problems: [String] = []
        for path in paths {
            do {
                problems += try store.add(contentsOfFile: path).map(\.description)
            } catch {
                if fromEnvironment {
                    problems.append("SSLKEYLOGFILE=\(path) not read: \(error)")
                } else {
                    throw ValidationError("--tls-keylog \(path): \(error)")
                }
            }
        }
        return (store, problems)
    }
}
