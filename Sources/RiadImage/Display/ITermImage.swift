import Foundation

/// The iTerm2 inline-image protocol (iTerm2, WezTerm, VS Code's terminal):
/// `ESC ] 1337 ; File = key=value;… : base64 BEL`.
public enum ITermImage {
  /// An inline PNG drawn at its own pixel size.
  public static func encode(png: [UInt8], width: Int, height: Int) -> [UInt8] {
    let header = "\u{1b}]1337;File=inline=1;size=\(png.count);width=\(width)px;height=\(height)px;preserveAspectRatio=1:"
    return Array(header.utf8) + Array(Data(png).base64EncodedString().utf8) + [0x07]
  }
}
