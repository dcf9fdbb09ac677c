import ArgumentParser
import CorscopeExchanges

/// `--origin`, `--host`, `--since`, `--until`: the same narrowing on every command.
struct SelectionOptions: ParsableArguments {
    @Option(name: .customLong("origin"), help: ArgumentHelp("Only requests sent with this Origin (repeatable).", valueName: "origin"))
    var origins: [String] = []

    @Option(name: .customLong("host"), help: ArgumentHelp("Only exchanges with this server: a Host name or address, with or without :port (repeatable).", valueName: "host"))
    var hosts: [String] = []

    @Option(help: ArgumentHelp("Only requests at or after this capture time: RFC 3339 (2026-11-22T22:15:08Z) or seconds since the epoch.", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only requests at or before this capture time (as --since).", valueName: "time"))
    var until: String?

    func validate() throws {
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, ExchangeSelection.parseTime(value) == nil {
                throw ValidationError("\(name) '\(value)': not an RFC 3339 time or seconds since the epoch")
            }
        }
    }

    var selection: ExchangeSelection {
        var selection = ExchangeSelection()
        selection.origins = origins
        selection.hosts = hosts
        selection.since = since.flatMap(ExchangeSelection.parseTime)
        selection.until = until.flatMap(ExchangeSelection.parseTime)
        return selection
    }
}
