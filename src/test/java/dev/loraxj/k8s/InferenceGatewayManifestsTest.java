package dev.loraxj.k8s;

import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.loraxj.api.VllmMetrics;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * k8s/overlays/inference-gateway: every file parses (fabric8 for the kinds it models, the extension's
 * CRD schema for the InferencePool), and the rendered objects fit together: the pool selects the
 * loraxj pods and names the picker's Service and port, the route sends to the pool, the picker's
 * metric mapping names the gauges the server exports, and the LoRA syncer reaches the server in its pod.
 */
class InferenceGatewayManifestsTest {

    static final String OVERLAY = "overlays/inference-gateway";
    static final Path DIR = Manifests.ROOT.resolve(OVERLAY);
    static final Path CRD = Path.of("src/test/resources/inferencepools.inference.networking.k8s.io-v1.5.0.yaml");

    /** Every document of every YAML file in the overlay; fabric8 parses each strictly, the pool goes to the CRD schema. */
    @Test
    void everyFileOfTheOverlayParses() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(DIR)) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 6, "the overlay's files: " + files);
        int pools = 0;
        for (Path f : files) {
            List<ObjectNode> docs = Kustomize.documents(f);
            assertFalse(docs.isEmpty(), f + " holds a document");
            if (f.getFileName().toString().equals("kustomization.yaml")) {
                Kustomize.kustomization(f);
                continue;
            }
            for (ObjectNode doc : docs) {
                String where = f + ": " + Kustomize.id(doc);
                if (doc.path("kind").asString().equals("InferencePool")) {
                    assertValid(doc, where);
                    pools++;
                } else if (!f.getFileName().toString().equals("deployment.yaml")) { // a patch, checked once rendered
                    Manifests.parse(doc.toString(), where);
                }
            }
        }
        assertEquals(1, pools, "one InferencePool");
    }

    @Test
    void inferencePoolSchemaCheckCatchesMistakes() {
        ObjectNode pool = (ObjectNode) rendered("InferencePool", "loraxj");
        assertValid(pool, "as shipped");
        ObjectNode typo = pool.deepCopy();
        ((ObjectNode) typo.get("spec")).set("targetPort", typo.get("spec").get("targetPorts"));
        assertFalse(errors(typo).isEmpty(), "an unknown field fails");
        ObjectNode noPorts = pool.deepCopy();
        ((ObjectNode) noPorts.get("spec")).remove("targetPorts");
        assertFalse(errors(noPorts).isEmpty(), "a missing required field fails");
        ObjectNode badMode = pool.deepCopy();
        ((ObjectNode) badMode.get("spec").get("endpointPickerRef")).put("failureMode", "Open");
        assertFalse(errors(badMode).isEmpty(), "a value outside the enum fails");
    }

    @Test
    void poolSelectsTheServerPodsAndNamesThePickersServiceAndPort() {
        JsonNode pool = rendered("InferencePool", "loraxj");
        Deployment server = Manifests.named(objects(), Deployment.class, "loraxj");
        Deployment epp = Manifests.named(objects(), Deployment.class, "loraxj-epp");
        Map<String, String> selector = Kustomize.YAML.convertValue(pool.at("/spec/selector/matchLabels"), Map.class);
        assertTrue(server.getSpec().getTemplate().getMetadata().getLabels().entrySet().containsAll(selector.entrySet()),
                "the pool selects the loraxj pods: " + selector);
        assertFalse(epp.getSpec().getTemplate().getMetadata().getLabels().entrySet().containsAll(selector.entrySet()),
                "and not the picker's");
        Container c = Manifests.container(server);
        assertEquals(c.getPorts().stream().filter(p -> p.getName().equals("http")).findFirst().orElseThrow().getContainerPort(),
                pool.at("/spec/targetPorts/0/number").asInt(), "the pool targets the server's http port");

        Service eppService = Manifests.named(objects(), Service.class, pool.at("/spec/endpointPickerRef/name").asString());
        ServicePort grpc = eppService.getSpec().getPorts().stream()
                .filter(p -> p.getPort() == pool.at("/spec/endpointPickerRef/port/number").asInt()).findFirst()
                .orElseThrow(() -> new AssertionError("the picker's Service has the pool's endpointPickerRef port"));
        Container picker = epp.getSpec().getTemplate().getSpec().getContainers().getFirst();
        assertTrue(picker.getPorts().stream().anyMatch(p -> p.getName().equals(grpc.getTargetPort().getStrVal()) && p.getContainerPort() == 9002),
                "its target is the picker's ext-proc port 9002");
        assertEquals(eppService.getSpec().getSelector(), epp.getSpec().getSelector().getMatchLabels());
        List<String> args = picker.getArgs();
        assertEquals(pool.at("/metadata/name").asString(), args.get(args.indexOf("--pool-name") + 1));
        assertEquals("inference.networking.k8s.io", args.get(args.indexOf("--pool-group") + 1));
        assertTrue(picker.getImage().startsWith("registry.k8s.io/gateway-api-inference-extension/epp:"), picker.getImage());
        assertEquals("loraxj-epp", epp.getSpec().getTemplate().getSpec().getServiceAccountName());
    }

    @Test
    void routeSendsEveryPathToThePool() {
        HTTPRoute route = Manifests.one(objects(), HTTPRoute.class);
        var ref = route.getSpec().getRules().getFirst().getBackendRefs().getFirst();
        assertEquals("inference.networking.k8s.io", ref.getGroup());
        assertEquals("InferencePool", ref.getKind());
        assertEquals("loraxj", ref.getName());
        assertEquals("/", route.getSpec().getRules().getFirst().getMatches().getFirst().getPath().getValue());
    }

    /** The picker's config maps our pods to the gauges the server exports, and its profile scores LoRA affinity. */
    @Test
    void pickerConfigReadsTheServersGaugesAndScoresLoraAffinity() {
        ConfigMap cm = Manifests.configMap(objects(), "loraxj-epp");
        Deployment epp = Manifests.named(objects(), Deployment.class, "loraxj-epp");
        List<String> args = epp.getSpec().getTemplate().getSpec().getContainers().getFirst().getArgs();
        String file = args.get(args.indexOf("--config-file") + 1);
        assertTrue(file.startsWith("/config/"), file);
        JsonNode config = Kustomize.YAML.readTree(cm.getData().get(file.substring("/config/".length())));
        assertEquals("inference.networking.x-k8s.io/v1alpha1", config.path("apiVersion").asString());
        assertEquals("EndpointPickerConfig", config.path("kind").asString());
        Set<String> plugins = new HashSet<>();
        JsonNode extractor = null;
        for (JsonNode p : config.path("plugins")) {
            plugins.add(p.has("name") ? p.path("name").asString() : p.path("type").asString());
            if (p.path("type").asString().equals("core-metrics-extractor")) {
                extractor = p.path("parameters");
            }
        }
        assertNotNull(extractor, "a core-metrics-extractor");
        String engine = extractor.path("defaultEngine").asString();
        JsonNode mapping = null;
        for (JsonNode e : extractor.path("engineConfigs")) {
            if (e.path("name").asString().equals(engine)) {
                mapping = e;
            }
        }
        assertNotNull(mapping, "the default engine's mapping is defined");
        assertEquals(VllmMetrics.WAITING, mapping.path("queuedRequestsSpec").asString());
        assertEquals(VllmMetrics.RUNNING, mapping.path("runningRequestsSpec").asString());
        assertEquals(VllmMetrics.KV_USAGE, mapping.path("kvUsageSpec").asString());
        assertEquals(VllmMetrics.LORA_INFO, mapping.path("loraSpec").asString());
        assertEquals(VllmMetrics.CACHE_CONFIG, mapping.path("cacheInfoSpec").asString());
        Deployment server = Manifests.named(objects(), Deployment.class, "loraxj");
        assertEquals(engine, server.getSpec().getTemplate().getMetadata().getLabels().get("inference.networking.k8s.io/engine-type"),
                "the pods carry the engine label the mapping is registered under");

        Set<String> refs = new TreeSet<>();
        config.path("schedulingProfiles").forEach(p -> p.path("plugins").forEach(r -> refs.add(r.path("pluginRef").asString())));
        config.path("data").path("sources").forEach(s -> {
            refs.add(s.path("pluginRef").asString());
            s.path("extractors").forEach(x -> refs.add(x.path("pluginRef").asString()));
        });
        assertTrue(plugins.containsAll(refs), "every pluginRef names a plugin: " + refs + " of " + plugins);
        assertTrue(refs.contains("lora-affinity-scorer"), "the profile scores LoRA affinity: " + refs);
        assertTrue(refs.contains("core-metrics-extractor"), "the data source feeds the extractor");
    }

    /** The syncer sidecar reaches the server in its pod, and every adapter it registers is a name and path the server takes. */
    @Test
    void loraSyncerRegistersValidAdaptersOnTheServerBesideIt() {
        Deployment server = Manifests.named(objects(), Deployment.class, "loraxj");
        PodSpec pod = server.getSpec().getTemplate().getSpec();
        Container syncer = pod.getInitContainers().stream().filter(c -> c.getName().equals("lora-adapter-syncer")).findFirst().orElseThrow();
        assertEquals("Always", syncer.getRestartPolicy(), "a native sidecar");
        Container c = Manifests.container(server);
        assertEquals("true", env(c, "LORAXJ_ADAPTERS_RUNTIME_REGISTRATION"), "the server serves load/unload");
        assertTrue(KubernetesEnvTest.mappingEnvNames().contains("LORAXJ_ADAPTERS_RUNTIME_REGISTRATION"), "it binds to the config mapping");

        Path config = Path.of(env(syncer, "DYNAMIC_LORA_ROLLOUT_CONFIG"));
        VolumeMount mount = syncer.getVolumeMounts().stream().filter(m -> m.getMountPath().equals(config.getParent().toString()))
                .findFirst().orElseThrow(() -> new AssertionError("the syncer mounts the directory of its config"));
        assertNull(mount.getSubPath(), "a directory mount, so kubelet updates the file in place");
        String cmName = pod.getVolumes().stream().filter(v -> v.getName().equals(mount.getName())).findFirst().orElseThrow()
                .getConfigMap().getName();
        JsonNode lora = Kustomize.YAML.readTree(Manifests.configMap(objects(), cmName).getData().get(config.getFileName().toString()))
                .path("vLLMLoRAConfig");
        assertEquals("localhost", lora.path("host").asString());
        int serverPort = c.getPorts().getFirst().getContainerPort();
        assertEquals(serverPort, lora.path("port").asInt(), "the syncer calls the server's port (its default, 8000, is vLLM's)");
        int metricsPort = Integer.parseInt(syncer.getArgs().get(syncer.getArgs().indexOf("--metrics-port") + 1));
        assertFalse(metricsPort == serverPort, "the syncer's own metrics port must not take the server's");
        assertEquals(List.of("python", "sidecar.py"), syncer.getCommand(), "args replace the image's CMD, so the command is spelt out");
        for (String section : List.of("ensureExist", "ensureNotExist")) {
            for (JsonNode m : lora.path(section).path("models")) {
                String id = m.path("id").asString();
                assertFalse(id.isEmpty() || id.contains(","), section + ": a name clients send as model: " + id);
                String source = m.path("source").asString();
                assertTrue(source.matches("(hub|local|s3|pbase):.+"), section + ": [source:]id with a source loraxj has: " + source);
            }
        }
    }

    @Test
    void everyContainerRunsRestricted() {
        for (Deployment d : Manifests.all(objects(), Deployment.class)) {
            PodSpec pod = d.getSpec().getTemplate().getSpec();
            assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType(), d.getMetadata().getName());
            assertTrue(pod.getSecurityContext().getRunAsNonRoot(), d.getMetadata().getName());
            List<Container> all = new ArrayList<>(pod.getContainers());
            all.addAll(pod.getInitContainers() == null ? List.of() : pod.getInitContainers());
            for (Container c : all) {
                String where = d.getMetadata().getName() + "/" + c.getName();
                assertFalse(c.getSecurityContext().getAllowPrivilegeEscalation(), where);
                assertTrue(c.getSecurityContext().getReadOnlyRootFilesystem(), where);
                assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop(), where);
                assertNotNull(c.getResources().getLimits(), where + " has limits");
            }
        }
    }

    /** kubectl's own Kustomize renders the same objects as the test's renderer (skipped, saying so, without kubectl). */
    @Test
    void kubectlKustomizeRendersTheSameObjects() throws Exception {
        Path kubectl = Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .map(p -> Path.of(p, "kubectl")).filter(Files::isExecutable).findFirst().orElse(null);
        Assumptions.assumeTrue(kubectl != null, "kubectl is not on the PATH: `kubectl kustomize " + DIR + "` was not run");
        Process p = new ProcessBuilder(kubectl.toString(), "kustomize", DIR.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "kubectl kustomize finished");
        assertEquals(0, p.exitValue(), out);
        Path tmp = Files.createTempFile("kustomized", ".yaml");
        Files.writeString(tmp, out);
        Set<String> theirs = new TreeSet<>();
        Set<String> ours = new TreeSet<>();
        Kustomize.documents(tmp).forEach(d -> theirs.add(Kustomize.id(d)));
        Kustomize.render(DIR).forEach(d -> ours.add(Kustomize.id(d)));
        assertEquals(ours, theirs);
        for (ObjectNode d : Kustomize.documents(tmp)) {
            assertEquals(normal(rendered(d.path("kind").asString(), d.path("metadata").path("name").asString())), normal(d),
                    "kubectl and the test renderer agree on " + Kustomize.id(d));
        }
    }

    /**
     * The same object whatever the renderer's choices: kubectl puts a patch's new list items first, and
     * writes YAML's octal file modes as numbers.
     */
    private static JsonNode normal(JsonNode node) {
        if (node instanceof ObjectNode o) {
            ObjectNode out = Kustomize.YAML.createObjectNode();
            for (Map.Entry<String, JsonNode> e : o.properties()) {
                JsonNode v = e.getValue();
                out.set(e.getKey(), e.getKey().equals("defaultMode") && v.isString() ? out.numberNode(Integer.parseInt(v.asString(), 8)) : normal(v));
            }
            return out;
        }
        if (node.isArray()) {
            List<JsonNode> items = new ArrayList<>();
            node.forEach(i -> items.add(normal(i)));
            String key = items.stream().allMatch(i -> i.has("name")) ? "name" : items.stream().allMatch(i -> i.has("mountPath")) ? "mountPath" : null;
            if (key != null) {
                items.sort(java.util.Comparator.comparing(i -> i.path(key).asString()));
            }
            return Kustomize.YAML.createArrayNode().addAll(items);
        }
        return node;
    }

    private static List<HasMetadata> objects() {
        List<HasMetadata> out = new ArrayList<>();
        for (ObjectNode n : Kustomize.render(DIR)) {
            if (!n.path("kind").asString().equals("InferencePool")) {
                out.add(Manifests.parse(n.toString(), OVERLAY + ": " + Kustomize.id(n)));
            }
        }
        return out;
    }

    private static JsonNode rendered(String kind, String name) {
        return Kustomize.render(DIR).stream().filter(n -> Kustomize.id(n).equals(kind + "/" + name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + "/" + name + " rendered"));
    }

    private static String env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst()
                .orElseThrow(() -> new AssertionError(c.getName() + " has no " + name));
    }

    private static void assertValid(JsonNode doc, String where) {
        Set<ValidationMessage> errors = errors(doc);
        assertTrue(errors.isEmpty(), where + ": " + errors);
    }

    /** The CRD's v1 schema, made strict as the API server is (fields it does not list are pruned there: here, errors). */
    private static Set<ValidationMessage> errors(JsonNode doc) {
        try {
            com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
            JsonNode crd = Kustomize.documents(CRD).getFirst();
            JsonNode schema = crd.at("/spec/versions/0/schema/openAPIV3Schema");
            com.fasterxml.jackson.databind.JsonNode strict = strict(json.readTree(schema.toString()));
            JsonSchema validator = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(strict);
            return validator.validate(json.readTree(doc.toString()));
        } catch (IOException e) {
            throw new AssertionError("cannot read " + CRD.toAbsolutePath(), e);
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode strict(com.fasterxml.jackson.databind.JsonNode node) {
        if (node instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
            if (o.has("properties") && !o.has("additionalProperties") && !o.path("x-kubernetes-preserve-unknown-fields").asBoolean()) {
                o.put("additionalProperties", false);
            }
            o.properties().forEach(e -> strict(e.getValue()));
        } else if (node != null && node.isArray()) {
            node.forEach(InferenceGatewayManifestsTest::strict);
        }
        return node;
    }

    /** The schema check stands in for fabric8 only while fabric8 has no model of the kind. */
    @Test
    void fabric8HasNoInferencePoolModelSoTheCrdSchemaChecksIt() {
        KubernetesResource r = Manifests.SERIALIZATION.unmarshal(
                "{\"apiVersion\":\"inference.networking.k8s.io/v1\",\"kind\":\"InferencePool\",\"metadata\":{\"name\":\"x\"}}");
        assertTrue(r instanceof GenericKubernetesResource, "fabric8 now models InferencePool: parse it with Manifests.parse too");
    }
}
