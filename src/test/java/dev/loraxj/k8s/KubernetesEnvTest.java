package dev.loraxj.k8s;

import dev.loraxj.config.LoraxjConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.ConfigMappings;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.math.RoundingMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The environment the Deployment gives the server is exactly what the server reads. */
class KubernetesEnvTest {

    static final List<String> KUSTOMIZATIONS = Manifests.KUSTOMIZATIONS;

    /** Read by the server outside the loraxj mapping: application.properties, the AWS SDK, DJL, the JVM, Quarkus, NVIDIA's toolkit. */
    static final Set<String> ALLOWED = Set.of("HF_HOME", "HF_HUB_CACHE", "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN", "PREDIBASE_API_TOKEN", "PREDIBASE_GATEWAY_ENDPOINT", "PREDIBASE_MODEL_BUCKET",
            "S3_ENDPOINT_URL", "S3_PATH_STYLE_ACCESS", "OPT_OUT_TRACKING", "JAVA_TOOL_OPTIONS", "QUARKUS_SHUTDOWN_TIMEOUT",
            "NVIDIA_DRIVER_CAPABILITIES", "NVIDIA_VISIBLE_DEVICES");
    static final List<String> ALLOWED_PREFIXES = List.of("AWS_", "DJL_");

    /** Credentials: only ever from the Secret. */
    static final Set<String> SECRETS = Set.of("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN", "PREDIBASE_API_TOKEN");

    /** Every property of the loraxj mapping in environment form, e.g. LORAXJ_ADAPTERS_MEMORY_BUDGET. */
    static Set<String> mappingEnvNames() {
        return ConfigMappings.getProperties(ConfigMappings.ConfigClass.configClass(LoraxjConfig.class, "loraxj")).keySet()
                .stream().map(KubernetesEnvTest::envForm).collect(Collectors.toCollection(TreeSet::new));
    }

    static String envForm(String property) {
        return property.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
    }

    /** Name to value of everything the container's environment holds; secrets and resource refs get stand-ins. */
    static Map<String, String> environment(List<HasMetadata> resources) {
        Deployment d = Manifests.one(resources, Deployment.class);
        Container c = Manifests.container(d);
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvFromSource from : Optional.ofNullable(c.getEnvFrom()).orElse(List.of())) {
            assertNull(from.getSecretRef(), "secrets come in key by key, so every name is checked");
            assertNull(from.getPrefix(), "envFrom prefix");
            ConfigMap cm = Manifests.configMap(resources, from.getConfigMapRef().getName());
            cm.getData().forEach((k, v) -> assertNull(env.put(k, v), k + " set twice"));
        }
        for (EnvVar e : Optional.ofNullable(c.getEnv()).orElse(List.of())) {
            String value = e.getValue();
            if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
                value = "secret-" + e.getName();
            } else if (e.getValueFrom() != null && e.getValueFrom().getResourceFieldRef() != null) {
                var ref = e.getValueFrom().getResourceFieldRef();
                String[] field = ref.getResource().split("\\.");
                Quantity q = (field[0].equals("limits") ? c.getResources().getLimits() : c.getResources().getRequests()).get(field[1]);
                assertNotNull(q, e.getName() + " refers to " + ref.getResource() + ", which is not set");
                value = q.getNumericalAmount().setScale(0, RoundingMode.CEILING).toPlainString();
            }
            assertNotNull(value, e.getName() + " has a value or a supported valueFrom");
            assertNull(env.put(e.getName(), value), e.getName() + " set twice (env and the ConfigMap)");
        }
        return env;
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void everyLoraxjVariableIsAPropertyOfTheConfigMapping(String kustomization) {
        Set<String> known = mappingEnvNames();
        assertTrue(known.contains("LORAXJ_MODEL_ID") && known.contains("LORAXJ_ADAPTERS_PRELOAD_FILE"), "mapping enumerated: " + known);
        for (String name : environment(Manifests.render(kustomization)).keySet()) {
            if (name.startsWith("LORAXJ_")) {
                assertTrue(known.contains(name), kustomization + ": " + name + " is no loraxj property; known: " + known);
            } else {
                assertTrue(ALLOWED.contains(name) || ALLOWED_PREFIXES.stream().anyMatch(name::startsWith),
                        kustomization + ": " + name + " is neither a loraxj property nor on the allow-list");
            }
        }
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void secretsAreReferencedFromTheSecretNeverInlined(String kustomization) {
        List<HasMetadata> r = Manifests.render(kustomization);
        Container c = Manifests.container(Manifests.one(r, Deployment.class));
        for (ConfigMap cm : Manifests.all(r, ConfigMap.class)) {
            for (String key : cm.getData().keySet()) {
                assertFalse(SECRETS.contains(key), "ConfigMap " + cm.getMetadata().getName() + " holds " + key);
            }
        }
        Set<String> secrets = Manifests.all(r, Secret.class).stream().map(s -> s.getMetadata().getName()).collect(Collectors.toSet());
        Set<String> referenced = new TreeSet<>();
        for (EnvVar e : c.getEnv()) {
            SecretKeySelector ref = e.getValueFrom() == null ? null : e.getValueFrom().getSecretKeyRef();
            if (SECRETS.contains(e.getName())) {
                assertNull(e.getValue(), e.getName() + " has an inline value");
                assertNotNull(ref, e.getName() + " comes from a secretKeyRef");
            }
            if (ref != null) {
                assertTrue(secrets.contains(ref.getName()), e.getName() + " refers to Secret " + ref.getName() + ", which the manifests do not create");
                assertEquals(Boolean.TRUE, ref.getOptional(), e.getName() + ": optional, so a server without that source still starts");
                referenced.add(e.getName());
            }
        }
        assertEquals(new TreeSet<>(Set.of("HF_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PREDIBASE_API_TOKEN")), referenced);
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void theEnvironmentBindsToTheConfigMapping(String kustomization) throws Exception {
        Map<String, String> env = environment(Manifests.render(kustomization));
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .addDefaultInterceptors()
                .withSources(new EnvConfigSource(env, 300),
                        new PropertiesConfigSource(Path.of("src/main/resources/application.properties").toUri().toURL(), 250))
                .withConverter(Duration.class, 200, new DurationConverter())
                .withMapping(LoraxjConfig.class)
                .build();
        LoraxjConfig c = config.getConfigMapping(LoraxjConfig.class);
        assertEquals(env.get("LORAXJ_MODEL_ID"), c.modelId());
        assertEquals(Optional.of("/etc/loraxj-auth/api-keys"), c.auth().apiKeysFile(), "the Secret's api-keys file");
        assertEquals(Optional.of("/etc/loraxj/preload"), c.adapters().preloadFile());
        assertEquals(Long.parseLong(env.get("LORAXJ_ADAPTERS_MEMORY_BUDGET")), c.adapters().memoryBudget());
        assertEquals(Integer.parseInt(env.get("LORAXJ_MAX_CONCURRENT_REQUESTS")), c.maxConcurrentRequests());
        assertEquals(env.get("LORAXJ_ADAPTERS_DEFAULT_SOURCE"), c.adapters().defaultSource());
        assertEquals(Optional.of(List.of("/data/adapters")), c.adapters().localRoots());
        // An empty value is no value: the base model serves requests that name no adapter.
        assertEquals("", env.get("LORAXJ_ADAPTER_ID"));
        assertEquals(Optional.empty(), c.adapterId());
        assertEquals(Optional.of("secret-HF_TOKEN"), c.hub().token(), "HF_TOKEN reaches the Hub source");
        assertEquals(Optional.of("secret-PREDIBASE_API_TOKEN"), c.predibase().token(), "PREDIBASE_API_TOKEN reaches the pbase source");
        if (env.containsKey("LORAXJ_THREADS")) {
            assertEquals(Integer.parseInt(env.get("LORAXJ_THREADS")), c.threads().getAsInt());
        }
    }
}
