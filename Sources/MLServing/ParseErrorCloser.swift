import NIOCore
import NIOHTTP1

/// Closes a connection whose request could not be parsed — a head over NIO's 80 KiB limit,
/// bytes that are not HTTP — as soon as Hummingbird's 400 has been written.
///
/// Why: on an `HTTPParserError` Hummingbird answers 400, half-closes its side and waits for the
/// client to close. But the decoder, once failed, no longer reports the client's end of input,
/// so the connection never closed: its file descriptor and the head buffered so far (some
/// 250 KB with NIO's buffers for a 1 MB head) stayed for the life of the process. A 5-minute
/// soak that sent a 1 MB head every 15th exchange grew the server by 14 MB a minute and left
/// hundreds of descriptors open (docs/reliability.md "Server under load").
///
/// The half-close after the 400 becomes a full close. Should the 400 never come (the handler
/// task stuck), a timer closes the connection anyway.
final class ParseErrorCloser: ChannelDuplexHandler, RemovableChannelHandler {
    /// Request and response parts pass through untouched; only errors and closes are looked at.
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    /// The longest a connection stays open after its parse error.
    static let deadline: TimeAmount = .seconds(10)

    private var failed = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError && !failed {
            failed = true
            let channel = context.channel
            context.eventLoop.scheduleTask(in: Self.deadline) { channel.close(promise: nil) }
        }
        context.fireErrorCaught(error)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // After the 400 (written before this close, so flushed first), nothing more can be read.
        context.close(mode: failed && mode == .output ? .all : mode, promise: promise)
    }
}
