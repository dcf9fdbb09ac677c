import ArgumentParser

public struct Corscope: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "corscope",
        abstract: "Find the cross-origin requests a browser blocked, from recorded or live HTTP traffic."
    )
    public init() {}
}
