import CPcap
import CZlib

/// The C libraries corscope reads through, as linked at run time (what `corscope --version`
/// prints): libpcap for captures and live interfaces, zlib for gzip files and
/// `Content-Encoding` bodies.
public enum CaptureLibraries {
    /// libpcap's own description, e.g. `libpcap version 1.10.3 (with TPACKET_V3)`.
    public static var libpcap: String { String(cString: pcap_lib_version()) }

    /// zlib's version, e.g. `1.2.13`.
    public static var zlib: String { String(cString: zlibVersion()) }

    /// Both, as one line: `libpcap version 1.10.3 (with TPACKET_V3), zlib 1.2.13`.
    public static var versions: String { "\(libpcap), zlib \(zlib)" }
}
