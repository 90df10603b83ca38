import Foundation

/// The kitty graphics protocol (kitty, Ghostty, WezTerm, Konsole): an APC
/// sequence `ESC _ G keys ; payload ESC \` carrying a PNG in base64,
/// at most 4096 payload bytes a chunk, `m=1` on every chunk but the last.
public enum KittyGraphics {
  public static let chunk = 4096

  /// Transmit and display (`a=T`) a PNG (`f=100`) at the cursor, quietly
  /// (`q=2`: the terminal sends no reply, so none is left in the input).
  public static func encode(png: [UInt8]) -> [UInt8] {
    let payload = Array(Data(png).base64EncodedString().utf8)
    var out: [UInt8] = []
    var start = 0
    repeat {
      let end = min(payload.count, start + chunk)
      let more = end < payload.count ? 1 : 0
      let keys = start == 0 ? "a=T,f=100,q=2,m=\(more)" : "m=\(more)"
      out += Array("\u{1b}_G\(keys);".utf8) + payload[start..<end] + Array("\u{1b}\\".utf8)
      start = end
    } while start < payload.count
    return out
  }
}
