import Foundation
import RiadCLI

exit(RiadCLI.main(Array(CommandLine.arguments.dropFirst())))
