package dev.loraxj.api;

import dev.loraxj.config.LoraxjConfig;
import io.quarkus.oidc.AccessTokenCredential;
import io.quarkus.oidc.TenantIdentityProvider;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.vertx.http.runtime.RouteConstants;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.util.List;
import java.util.Optional;

/**
 * Server authentication, off unless API keys or OIDC are configured: every path but the open ones
 * needs an API key ({@code Authorization: Bearer} or {@code x-api-key}) or, with OIDC on, a bearer
 * token that quarkus-oidc verifies (and that carries the required role, if one is set). Refusals are
 * 401 with {@code WWW-Authenticate: Bearer} (403 for a valid identity without the role) in the
 * route family's error shape. Keys are checked on the event loop; tokens are verified without
 * blocking. Neither a key nor a token is ever logged.
 */
@ApplicationScoped
public class ServerAuth {

    private static final Logger LOG = Logger.getLogger(ServerAuth.class);
    /** Set on a request's context when server auth is on: its Authorization header is the server's, not an adapter's. */
    static final String ON = "loraxj.server-auth";

    private final ApiKeys keys;
    private final boolean oidc;
    private final Optional<String> requiredRole;
    private final List<String> openPaths;
    private final Instance<TenantIdentityProvider> tokens;

    public ServerAuth(LoraxjConfig config, @ConfigProperty(name = "quarkus.oidc.tenant-enabled", defaultValue = "false") boolean oidc,
                      Instance<TenantIdentityProvider> tokens) {
        this.keys = ApiKeys.of(config.auth().apiKeys(), config.auth().apiKeysFile(), config.auth().apiKeysFileOptional());
        this.oidc = oidc;
        this.requiredRole = config.auth().oidc().requiredRole().filter(r -> !r.isBlank());
        this.openPaths = List.copyOf(config.auth().openPaths());
        this.tokens = tokens;
    }

    /** Whether any credential is asked for. */
    boolean enabled() {
        return keys.enabled() || oidc;
    }

    void install(@Observes Router router) {
        if (!enabled()) {
            LOG.info("server authentication is off (no loraxj.auth.api-keys, quarkus.oidc.tenant-enabled=false)");
            return;
        }
        LOG.infof("server authentication is on: %d API key(s)%s; open paths %s", keys.size(),
                oidc ? ", OIDC bearer tokens" + requiredRole.map(r -> " with role " + r).orElse("") : "", openPaths);
        // before RequestGate's checks: a caller without a credential learns nothing about a route
        router.route().order(RouteConstants.ROUTE_ORDER_UPLOAD_LIMIT - 2).handler(this::check);
    }

    private void check(RoutingContext rc) {
        rc.put(ON, Boolean.TRUE);
        if (open(RequestGate.path(rc))) {
            rc.next();
            return;
        }
        HttpServerRequest req = rc.request();
        String bearer = bearer(req.getHeader("Authorization"));
        if (keys.enabled() && (keys.matches(req.getHeader("x-api-key")) | keys.matches(bearer))) {
            rc.next();
            return;
        }
        if (oidc && bearer != null) {
            verify(rc, bearer);
            return;
        }
        boolean presented = bearer != null || req.getHeader("x-api-key") != null;
        unauthorized(rc, presented ? "the API key or bearer token is not valid" : "an API key or bearer token is required");
    }

    /** Verifies the token off the request's handlers: the body waits (paused) until the answer. */
    private void verify(RoutingContext rc, String token) {
        HttpServerRequest req = rc.request();
        Context context = Vertx.currentContext(); // the request's event loop, where routing must go on
        req.pause();
        tokens.get().authenticate(new AccessTokenCredential(token)).subscribe().with(
                identity -> context.runOnContext(v -> verified(rc, identity)),
                failure -> context.runOnContext(v -> {
                    // the failure's class only: some messages quote the token's claims
                    LOG.debugf("%s %s: bearer token refused (%s)", req.method(), req.path(), failure.getClass().getSimpleName());
                    req.resume();
                    unauthorized(rc, "the API key or bearer token is not valid");
                }));
    }

    private void verified(RoutingContext rc, SecurityIdentity identity) {
        if (requiredRole.isPresent() && !identity.hasRole(requiredRole.get())) {
            metricsUri("FORBIDDEN");
            rc.request().resume();
            rc.response().putHeader("WWW-Authenticate", "Bearer error=\"insufficient_scope\"");
            RequestGate.refuse(rc, new HttpRequestException(HttpRequestException.Kind.FORBIDDEN,
                    "the bearer token does not carry the role this server requires"));
            return;
        }
        rc.next();
        rc.request().resume();
    }

    private static void unauthorized(RoutingContext rc, String message) {
        metricsUri("UNAUTHORIZED");
        rc.response().putHeader("WWW-Authenticate", "Bearer realm=\"loraxj\"");
        RequestGate.refuse(rc, new HttpRequestException(HttpRequestException.Kind.UNAUTHORIZED, message));
    }

    /** The HTTP metrics' uri tag (Quarkus reads it from the request's context): one value for every refused path, so random paths add no series. */
    @SuppressWarnings("deprecation")
    private static void metricsUri(String uri) {
        Context context = Vertx.currentContext();
        if (context != null) {
            context.putLocal("UrlPathTemplate", uri);
        }
    }

    boolean open(String path) {
        for (String p : openPaths) {
            if (p.endsWith("/*") ? path.startsWith(p.substring(0, p.length() - 1)) : path.equals(p)) {
                return true;
            }
        }
        return false;
    }

    /** The token of an {@code Authorization: Bearer} header, or null. */
    static String bearer(String authorization) {
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            String t = authorization.substring(7).trim();
            return t.isEmpty() ? null : t;
        }
        return null;
    }
}
