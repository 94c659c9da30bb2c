package dev.loraxj.api;

import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.vertx.http.runtime.RouteConstants;
import io.vertx.core.VertxException;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What every request meets before a route, and what answers when no route can: a declared length
 * over quarkus.http.limits.max-body-size (413, before the body is read), a JSON route sent another
 * media type (415), a body whose framing breaks (400), an unknown path (404) or method (405). Each
 * answer has the route family's error shape: OpenAI's under /v1, LoRAX's elsewhere. These are the
 * client's mistakes, so they are logged at DEBUG; anything else goes on to Quarkus's error handler.
 */
@ApplicationScoped
public class RequestGate {

    private static final Logger LOG = Logger.getLogger(RequestGate.class);
    /** The routes that read a JSON body (GenerateRoutes, ServerRoutes, OpenaiRoutes, LoraAdapterRoutes). */
    static final Set<String> JSON_POSTS = Set.of("/generate", "/generate_stream", "/", "/tokenize", "/v1/completions",
            "/v1/chat/completions", "/v1/load_lora_adapter", "/v1/unload_lora_adapter");

    private final long maxBodyBytes;

    public RequestGate(@ConfigProperty(name = "quarkus.http.limits.max-body-size") Optional<MemorySize> maxBodySize) {
        this.maxBodyBytes = maxBodySize.map(MemorySize::asLongValue).orElse(-1L);
    }

    void install(@Observes Router router) {
        // ahead of Quarkus's own length check, which answers 413 with an empty body
        int order = RouteConstants.ROUTE_ORDER_UPLOAD_LIMIT - 1;
        router.route().order(order).handler(this::screen);
        router.route().order(order).failureHandler(this::failed);
        router.errorHandler(404, rc -> refuse(rc, new HttpRequestException(HttpRequestException.Kind.NO_ROUTE,
                "no route for " + rc.request().method() + " " + rc.request().path())));
        router.errorHandler(405, rc -> {
            String allow = allowed(router, path(rc));
            if (!allow.isEmpty()) {
                rc.response().putHeader(HttpHeaders.ALLOW, allow);
            }
            refuse(rc, new HttpRequestException(HttpRequestException.Kind.METHOD_NOT_ALLOWED, rc.request().method() + " "
                    + rc.request().path() + ": method not allowed" + (allow.isEmpty() ? "" : " (allowed: " + allow + ")")));
        });
    }

    /** Refuses what can be refused from the headers alone, so no body is read for it. */
    private void screen(RoutingContext rc) {
        HttpServerRequest req = rc.request();
        String length = req.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (length != null && maxBodyBytes >= 0 && declaredLength(length) > maxBodyBytes) {
            refuseAndClose(rc, tooLarge());
            return;
        }
        if (req.method() == HttpMethod.POST && JSON_POSTS.contains(path(rc)) && !json(req.getHeader(HttpHeaders.CONTENT_TYPE))) {
            refuse(rc, new HttpRequestException(HttpRequestException.Kind.MEDIA_TYPE, "Content-Type "
                    + req.getHeader(HttpHeaders.CONTENT_TYPE) + " is not accepted: send application/json (UTF-8)"));
            return;
        }
        rc.next();
    }

    /** Failures while the body is read (too large, broken framing, the client gone); others go on to Quarkus. */
    private void failed(RoutingContext rc) {
        Throwable t = rc.failure();
        HttpServerRequest req = rc.request();
        if (t instanceof HttpClosedException || t instanceof IOException) { // a reset, or a close mid-body
            LOG.debugf("%s %s: the client went away mid-request (%s)", req.method(), req.path(), t);
            return; // nobody is left to answer
        }
        if (rc.response().headWritten()) {
            rc.next();
        } else if (rc.statusCode() == 413) {
            refuseAndClose(rc, tooLarge());
        } else if (rc.statusCode() == 400 && (t == null || t instanceof VertxException)) {
            // Vert.x Web's own checks of the request line and headers (a missing Host, a path without '/')
            refuse(rc, new HttpRequestException(HttpRequestException.Kind.MALFORMED,
                    "malformed request" + (t == null ? "" : ": " + t.getMessage())));
        } else if (t != null && !req.isEnded()) {
            // the decoder failed mid-body (a bad chunk); the connection is closed right after this returns
            refuseAndClose(rc, new HttpRequestException(HttpRequestException.Kind.MALFORMED, "malformed request body: " + t.getMessage()));
        } else {
            rc.next();
        }
    }

    /** JSON, of any +json flavour, in UTF-8; no Content-Type is taken as JSON, for bare clients. */
    static boolean json(String contentType) {
        if (contentType == null || contentType.isBlank()) {
            return true;
        }
        String[] parts = contentType.split(";");
        String type = parts[0].trim().toLowerCase(Locale.ROOT);
        if (!type.equals("application/json") && !(type.startsWith("application/") && type.endsWith("+json"))) {
            return false;
        }
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq > 0 && parts[i].substring(0, eq).trim().equalsIgnoreCase("charset")) {
                String charset = parts[i].substring(eq + 1).trim().replace("\"", "");
                if (!charset.equalsIgnoreCase("utf-8") && !charset.equalsIgnoreCase("utf8")) {
                    return false;
                }
            }
        }
        return true;
    }

    private HttpRequestException tooLarge() {
        return new HttpRequestException(HttpRequestException.Kind.TOO_LARGE,
                "request body is larger than the limit of " + maxBodyBytes + " bytes");
    }

    /** Netty has checked the header is one non-negative number; a value too long for a long is over any limit. */
    private static long declaredLength(String header) {
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    static void refuse(RoutingContext rc, HttpRequestException e) {
        LOG.debugf("%s %s refused: %s", rc.request().method(), rc.request().path(), e.getMessage());
        HttpExchange ex = new HttpExchange(rc);
        if (openai(path(rc))) {
            OpenaiErrors.of(e, OpenaiErrors.Names.CHAT).send(ex);
        } else {
            ex.fail(e);
        }
    }

    /** Refuses, then closes an HTTP/1 connection: the rest of the body is not worth reading. */
    private static void refuseAndClose(RoutingContext rc, HttpRequestException e) {
        boolean http1 = rc.request().version() != HttpVersion.HTTP_2; // HTTP/2 ends the stream alone
        if (http1) {
            rc.response().putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
            rc.addEndHandler(ar -> rc.request().connection().close());
        }
        refuse(rc, e);
    }

    private static String allowed(Router router, String path) {
        Set<String> methods = new TreeSet<>();
        for (Route r : router.getRoutes()) {
            if (r.getPath() != null && matches(r.getPath(), path) && r.methods() != null) {
                r.methods().forEach(m -> methods.add(m.name()));
            }
        }
        return String.join(", ", methods);
    }

    /** A route's path against a request's: a {@code :param} segment matches any one segment. */
    static boolean matches(String routePath, String path) {
        if (!routePath.contains(":")) {
            return routePath.equals(path);
        }
        String[] route = routePath.split("/", -1);
        String[] asked = path.split("/", -1);
        if (route.length != asked.length) {
            return false;
        }
        for (int i = 0; i < route.length; i++) {
            if (!(route[i].startsWith(":") && !asked[i].isEmpty()) && !route[i].equals(asked[i])) {
                return false;
            }
        }
        return true;
    }

    static String path(RoutingContext rc) {
        String p = rc.normalizedPath() != null ? rc.normalizedPath() : rc.request().path() != null ? rc.request().path() : "";
        return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    private static boolean openai(String path) {
        return path.equals("/v1") || path.startsWith("/v1/");
    }
}
