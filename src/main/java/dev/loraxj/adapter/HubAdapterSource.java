package dev.loraxj.adapter;

import dev.loraxj.config.LoraxjConfig;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;


/**
 * {@code adapter_source: "hub"}: a Hugging Face repo id, fetched through the Hub's API into
 * huggingface_hub's cache. The access check of a private adapter is the model-info call made with
 * the caller's token.
 */
@ApplicationScoped
public class HubAdapterSource implements AdapterSource {

    private static final List<String> EXTRA = List.of("adapter_config.json", "config.json", "tokenizer_config.json");

    private final HubClient hub;
    private final ApiToken globalToken;
    private final boolean useGlobalToken;

    @jakarta.inject.Inject
    public HubAdapterSource(LoraxjConfig config, MeterRegistry registry) {
        this(new HubClient(config.hub().endpoint(), config.hub().cache().map(Path::of).orElseGet(HubClient::defaultCache),
                config.hub().offline(), config.hub().retries(), config.hub().connectTimeout(), registry),
                config.hub().token().map(ApiToken::of).orElse(null), config.auth().useGlobalHfToken());
    }

    public HubAdapterSource(HubClient hub, ApiToken globalToken, boolean useGlobalToken) {
        this.hub = hub;
        this.globalToken = globalToken;
        this.useGlobalToken = useGlobalToken;
    }

    @Override
    public String name() {
        return "hub";
    }

    public HubClient client() {
        return hub;
    }

    @Override
    public boolean checksCallers() {
        return !hub.offline();
    }

    /** The caller's token, else the server's when configured to lend it. */
    private ApiToken effective(ApiToken token) {
        return token != null ? token : useGlobalToken ? globalToken : null;
    }

    @Override
    public void authorize(AdapterRef ref, ApiToken token) {
        info(ref, effective(token));
    }

    /**
     * Model info with the caller's token. A token the Hub rejects on a repo that anyone may read is no
     * reason to refuse: OpenAI SDKs always send their (often dummy) API key as a Bearer token.
     */
    private HubClient.ModelInfo info(AdapterRef ref, ApiToken t) {
        try {
            return hub.info(ref.id(), ref.revision(), t);
        } catch (HubClient.HubStatusException e) {
            if (t != null && (e.status() == 401 || e.status() == 403)) {
                try {
                    return hub.info(ref.id(), ref.revision(), null);
                } catch (HubClient.HubStatusException publicToo) {
                    // private indeed: refuse with the caller's token in mind
                }
            }
            throw refusal(ref, t, e);
        }
    }

    @Override
    public Path fetch(AdapterRef ref, ApiToken token) {
        if (hub.offline()) {
            return hub.cached(ref.id(), ref.revision())
                    .filter(HubAdapterSource::hasWeights)
                    .orElseThrow(() -> new AdapterException("adapter " + ref.id() + " is not in the Hub cache (offline mode)"));
        }
        ApiToken t = effective(token);
        HubClient.ModelInfo info = info(ref, t);
        try {
            return hub.snapshot(info, ref.revision(), t, select(ref.id(), info.files()));
        } catch (HubClient.HubStatusException e) {
            if (t != null && (e.status() == 401 || e.status() == 403)) {
                return hub.snapshot(info, ref.revision(), null, select(ref.id(), info.files()));
            }
            throw refusal(ref, t, e);
        }
    }

    /** LoRAX's choice: top-level *.safetensors (not args/arguments/training), else *.bin; plus the configs. */
    static List<String> select(String repo, List<String> files) {
        List<String> out = new ArrayList<>();
        for (String f : files) {
            String lower = f.toLowerCase(Locale.ROOT);
            if (!f.contains("/") && lower.endsWith(".safetensors")
                    && !lower.contains("args") && !lower.contains("arguments") && !lower.contains("training")) {
                out.add(f);
            }
        }
        if (out.isEmpty()) {
            for (String f : files) {
                String lower = f.toLowerCase(Locale.ROOT);
                if (!f.contains("/") && lower.endsWith(".bin")
                        && !lower.contains("args") && !lower.contains("arguments") && !lower.contains("training")) {
                    out.add(f);
                }
            }
        }
        if (out.isEmpty()) {
            throw new AdapterException("Hub repo " + repo + " has no *.safetensors or *.bin weights at its top level");
        }
        for (String extra : EXTRA) {
            if (files.contains(extra)) {
                out.add(extra);
            }
        }
        return out;
    }

    private static boolean hasWeights(Path dir) {
        return Files.exists(dir.resolve("adapter_config.json")) || Files.exists(dir.resolve("config.json"));
    }

    /** A Hub refusal as the caller should see it: 401 without a token, 403 with one, 424 when missing. */
    static AdapterException refusal(AdapterRef ref, ApiToken token, HubClient.HubStatusException e) {
        return switch (e.status()) {
            case 401, 403 -> token == null
                    ? new AdapterAccessException("adapter " + ref.id() + " is private: send a token with access (api_token or Authorization: Bearer)", true)
                    : new AdapterAccessException("the token does not give access to adapter " + ref.id(), false);
            case 404 -> new AdapterNotFoundException("adapter " + ref.id() + " does not exist on the Hub" + (token == null ? " (or is private)" : ""));
            default -> new AdapterException("the Hub failed for adapter " + ref.id() + ": " + e.getMessage());
        };
    }

}
