import ArgumentParser
import CorscopeRedaction

/// `--no-redact`, the same on every command: secrets are hidden in every output unless asked.
struct RedactionOptions: ParsableArguments {
    @Flag(name: .customLong("no-redact"),
          help: "Show cookies, Authorization, tokens and secret-looking query values as captured, in every output (reports say so at the top). Default: they read [redacted].")
    var noRedact = false

    var redacts: Bool { !noRedact }

    /// A fresh redactor for one output (it remembers the secrets it hid, to scrub texts of them).
    func makeRedactor() -> Redactor { Redactor(enabled: !noRedact) }
}
