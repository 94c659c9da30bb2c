package dev.loraxj.api;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.concurrent.Executor;

/**
 * One HTTP exchange on its event loop: JSON answers, LoRAX errors, and SSE framing. Everything that
 * writes runs on the request's Vert.x context, whatever thread produced the data.
 */
final class HttpExchange {

    private static final Buffer SSE_PREFIX = Buffer.buffer("data:");
    private static final Buffer SSE_SUFFIX = Buffer.buffer("\n\n");

    private final RoutingContext rc;
    private final Context context;
    private final long startNanos = System.nanoTime();

    HttpExchange(RoutingContext rc) {
        this.rc = rc;
        this.context = Vertx.currentContext();
    }

    /**
     * The private-adapter token the headers carry: {@code x-adapter-token}, else the Authorization
     * Bearer token unless server auth is on (then that header is the server's); or null.
     */
    String adapterToken() {
        String t = rc.request().getHeader("x-adapter-token");
        if (t != null && !t.isBlank()) {
            return t.trim();
        }
        return rc.get(ServerAuth.ON) != null ? null : ServerAuth.bearer(rc.request().getHeader("Authorization"));
    }

    HttpServerResponse response() {
        return rc.response();
    }

    long startNanos() {
        return startNanos;
    }

    /** Runs tasks on this exchange's event loop, in order. */
    Executor onContext() {
        return task -> context.runOnContext(v -> task.run());
    }

    Vertx vertx() {
        return rc.vertx();
    }

    boolean open() {
        return !rc.response().ended() && !rc.response().closed();
    }

    void json(int status, Object body) {
        if (!open()) {
            return;
        }
        rc.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                .end(body instanceof Buffer serialized ? serialized : Json.write(body));
    }

    void fail(Throwable t) {
        ApiError e = ApiError.of(t);
        if (!open()) {
            return;
        }
        if (rc.response().headWritten()) {
            sse(e.body()); // LoRAX sends a failure after the stream started as an error event
            rc.response().end();
        } else {
            json(e.status(), e.body());
        }
    }

    /** Starts an SSE response if not started yet. */
    void startSse() {
        HttpServerResponse r = rc.response();
        if (!r.headWritten()) {
            r.setStatusCode(200).setChunked(true)
                    .putHeader("Content-Type", "text/event-stream")
                    .putHeader("Cache-Control", "no-cache")
                    .putHeader("X-Accel-Buffering", "no");
        }
    }

    void sse(Object event) {
        if (!open()) {
            return;
        }
        startSse();
        rc.response().write(Buffer.buffer().appendBuffer(SSE_PREFIX).appendBuffer(Json.write(event)).appendBuffer(SSE_SUFFIX));
    }

    /** Writes an already framed SSE data line (e.g. OpenAI's [DONE]). */
    void sseRaw(String data) {
        if (!open()) {
            return;
        }
        startSse();
        rc.response().write(Buffer.buffer("data: " + data + "\n\n"));
    }

    void end() {
        if (open()) {
            startSse();
            rc.response().end();
        }
    }

    /** Calls {@code onClose} if the client goes away before the response ends. */
    void onClientGone(Runnable onClose) {
        rc.response().closeHandler(v -> onClose.run());
    }
}
