import NIOCore

extension EventLoopFuture where Value: Sendable {
    /// Waits for the result at most `seconds`, from the calling thread (never an event loop).
    /// postgres-nio's futures can stay pending on a connection whose server end is gone (a
    /// terminated backend, a server stopped without closing the socket), so every wait of the
    /// PostgreSQL catalog has a deadline: past it this throws a `connectionLost` error saying
    /// `what` did not answer, and `late` gets the value if it still comes (to close a
    /// connection nobody will use).
    func wait(
        within seconds: Double, _ what: @autoclosure () -> String, late: (@Sendable (Value) -> Void)? = nil
    ) throws -> Value {
        let promise = eventLoop.makePromise(of: Value.self)
        let expired = PostgresCatalogError(
            .connectionLost,
            "PostgreSQL did not answer \(what()) within \(PostgresDeadline.text(seconds)); the connection was closed")
        // The timer and the result both run on the future's event loop, one after the other: a
        // result cancels the timer; a timer that fired first leaves the result to `late`.
        let timer = eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            promise.fail(expired)
            if let late { self.whenSuccess(late) }
        }
        whenComplete { result in
            timer.cancel()
            promise.completeWith(result)
        }
        return try promise.futureResult.wait()
    }
}

enum PostgresDeadline {
    /// "2 s", "0.5 s".
    static func text(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}
