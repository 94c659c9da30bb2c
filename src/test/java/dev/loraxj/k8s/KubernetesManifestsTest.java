package dev.loraxj.k8s;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.autoscaling.v2.MetricSpec;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every manifest under k8s/ is valid Kubernetes, and its objects point at each other and at the server correctly. */
class KubernetesManifestsTest {

    static final List<String> KUSTOMIZATIONS = Manifests.KUSTOMIZATIONS;

    @Test
    void everyManifestParsesStrictlyWithTheKubernetesModel() {
        List<Path> files = Manifests.files();
        assertTrue(files.size() >= 10, "manifests found: " + files);
        for (Path file : files) {
            if (file.startsWith(InferenceGatewayManifestsTest.DIR)) {
                continue; // its InferencePool is the extension's kind: InferenceGatewayManifestsTest checks it against the CRD
            }
            if (file.getFileName().toString().equals("kustomization.yaml")) {
                Kustomize.kustomization(file);
                continue;
            }
            List<ObjectNode> docs = Kustomize.documents(file);
            assertFalse(docs.isEmpty(), file + " holds no document");
            for (ObjectNode doc : docs) {
                Manifests.parse(doc.toString(), file.toString());
            }
        }
    }

    @Test
    void anUnknownFieldFailsTheParse() {
        String typo = """
                {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},
                 "spec":{"template":{"spec":{"containers":[{"name":"c","readinesProbe":{}}]}}}}""";
        AssertionError e = assertThrows(AssertionError.class, () -> Manifests.parse(typo, "typo"));
        assertTrue(e.getMessage().contains("readinesProbe"), e.getMessage());
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void everyKustomizationRendersTheWholeServer(String kustomization) {
        List<HasMetadata> r = Manifests.render(kustomization);
        assertEquals(List.of("ConfigMap/loraxj-config", "ConfigMap/loraxj-preload", "Secret/loraxj-secrets",
                        "PersistentVolumeClaim/loraxj-cache", "Deployment/loraxj", "Service/loraxj",
                        "HorizontalPodAutoscaler/loraxj", "PodDisruptionBudget/loraxj"),
                r.stream().map(h -> h.getKind() + "/" + h.getMetadata().getName()).toList());
        assertTrue(r.stream().allMatch(h -> "loraxj".equals(h.getMetadata().getLabels().get("app.kubernetes.io/part-of"))),
                "every object carries the part-of label");
    }

    @ParameterizedTest
    @FieldSource("KUSTOMIZATIONS")
    void serviceAndBudgetSelectThePodsAndTheAutoscalerTargetsTheDeployment(String kustomization) {
        List<HasMetadata> r = Manifests.render(kustomization);
        Deployment d = Manifests.one(r, Deployment.class);
        Map<String, String> podLabels = d.getSpec().getTemplate().getMetadata().getLabels();
        assertTrue(podLabels.entrySet().containsAll(d.getSpec().getSelector().getMatchLabels().entrySet()), "selector matches the template");
        assertTrue(podLabels.entrySet().containsAll(Manifests.one(r, Service.class).getSpec().getSelector().entrySet()), "Service selects the pods");
        PodDisruptionBudget pdb = Manifests.one(r, PodDisruptionBudget.class);
        assertTrue(podLabels.entrySet().containsAll(pdb.getSpec().getSelector().getMatchLabels().entrySet()), "PDB selects the pods");
        boolean oneAtATime = pdb.getSpec().getMaxUnavailable() != null && pdb.getSpec().getMaxUnavailable().getIntVal() == 1
                || pdb.getSpec().getMinAvailable() != null && pdb.getSpec().getMinAvailable().getIntVal() == 1;
        assertTrue(oneAtATime, "PDB: maxUnavailable 1 or minAvailable 1");

        HorizontalPodAutoscaler hpa = Manifests.one(r, HorizontalPodAutoscaler.class);
        assertEquals("autoscaling/v2", hpa.getApiVersion());
        assertEquals("Deployment", hpa.getSpec().getScaleTargetRef().getKind());
        assertEquals(d.getMetadata().getName(), hpa.getSpec().getScaleTargetRef().getName());
        assertNull(d.getSpec().getReplicas(), "replicas left to the autoscaler, or each apply would reset them");
    }

    @Test
    void autoscalerScalesOnTheQueueDepthPerPod() {
        HorizontalPodAutoscaler hpa = Manifests.one(Manifests.render("base"), HorizontalPodAutoscaler.class);
        MetricSpec metric = hpa.getSpec().getMetrics().getFirst();
        assertEquals(1, hpa.getSpec().getMetrics().size());
        assertEquals("Pods", metric.getType());
        assertEquals(KubernetesProbesTest.QUEUE_METRIC, metric.getPods().getMetric().getName());
        assertEquals("AverageValue", metric.getPods().getTarget().getType());
        assertNotNull(metric.getPods().getTarget().getAverageValue());
        assertTrue(hpa.getSpec().getMinReplicas() >= 1 && hpa.getSpec().getMaxReplicas() > hpa.getSpec().getMinReplicas());
    }

    @Test
    void servicePort80ReachesTheServersHttpPort() {
        List<HasMetadata> r = Manifests.render("base");
        ServicePort port = Manifests.one(r, Service.class).getSpec().getPorts().getFirst();
        assertEquals("http", port.getName());
        assertEquals(80, port.getPort());
        Container c = Manifests.container(Manifests.one(r, Deployment.class));
        ContainerPort http = c.getPorts().stream().filter(p -> p.getName().equals(port.getTargetPort().getStrVal())).findFirst()
                .orElseThrow(() -> new AssertionError("targetPort " + port.getTargetPort() + " names no container port"));
        assertEquals(serverHttpPort(), http.getContainerPort(), "container port = quarkus.http.port");
        for (var probe : List.of(c.getStartupProbe(), c.getReadinessProbe(), c.getLivenessProbe())) {
            assertEquals("http", probe.getHttpGet().getPort().getStrVal(), "probes use the named http port");
        }
    }

    @Test
    void prometheusScrapesTheServersMetricsEndpoint() {
        Deployment d = Manifests.deployment("base");
        Map<String, String> a = d.getSpec().getTemplate().getMetadata().getAnnotations();
        assertEquals("true", a.get("prometheus.io/scrape"));
        assertEquals(String.valueOf(serverHttpPort()), a.get("prometheus.io/port"));
        assertEquals(KubernetesProbesTest.METRICS_PATH, a.get("prometheus.io/path"));
    }

    @Test
    void preloadListIsAConfigMapFileThatKubeletKeepsCurrent() {
        List<HasMetadata> r = Manifests.render("base");
        Deployment d = Manifests.one(r, Deployment.class);
        Container c = Manifests.container(d);
        String file = c.getEnv().stream().filter(e -> e.getName().equals("LORAXJ_ADAPTERS_PRELOAD_FILE")).findFirst()
                .orElseThrow(() -> new AssertionError("LORAXJ_ADAPTERS_PRELOAD_FILE not set")).getValue();
        assertEquals("/etc/loraxj/preload", file);
        VolumeMount mount = c.getVolumeMounts().stream().filter(m -> file.startsWith(m.getMountPath() + "/")).findFirst()
                .orElseThrow(() -> new AssertionError("no volume holds " + file));
        assertNull(mount.getSubPath(), "a subPath mount never sees ConfigMap updates");
        assertTrue(mount.getReadOnly());
        Volume v = d.getSpec().getTemplate().getSpec().getVolumes().stream().filter(x -> x.getName().equals(mount.getName())).findFirst().orElseThrow();
        assertNotNull(v.getConfigMap(), "the preload volume is a ConfigMap");
        ConfigMap cm = Manifests.configMap(r, v.getConfigMap().getName());
        String key = v.getConfigMap().getItems().stream().filter(i -> file.equals(mount.getMountPath() + "/" + i.getPath())).findFirst()
                .orElseThrow(() -> new AssertionError("no item maps to " + file)).getKey();
        assertTrue(cm.getData().containsKey(key), "ConfigMap " + cm.getMetadata().getName() + " has key " + key);
        assertEquals("preload", key);
    }

    @Test
    void apiKeysAreAnOptionalFileFromTheSecret() {
        List<HasMetadata> r = Manifests.render("base");
        Deployment d = Manifests.one(r, Deployment.class);
        Container c = Manifests.container(d);
        String file = c.getEnv().stream().filter(e -> e.getName().equals("LORAXJ_AUTH_API_KEYS_FILE")).findFirst()
                .orElseThrow(() -> new AssertionError("LORAXJ_AUTH_API_KEYS_FILE not set")).getValue();
        VolumeMount mount = c.getVolumeMounts().stream().filter(m -> file.startsWith(m.getMountPath() + "/")).findFirst()
                .orElseThrow(() -> new AssertionError("no volume holds " + file));
        assertTrue(mount.getReadOnly());
        Volume v = d.getSpec().getTemplate().getSpec().getVolumes().stream().filter(x -> x.getName().equals(mount.getName())).findFirst().orElseThrow();
        assertNotNull(v.getSecret(), "the keys come from a Secret, never a ConfigMap");
        assertEquals(Boolean.TRUE, v.getSecret().getOptional(), "a Secret without api-keys still starts the pod (auth off)");
        assertEquals("true", c.getEnv().stream().filter(e -> e.getName().equals("LORAXJ_AUTH_API_KEYS_FILE_OPTIONAL")).findFirst()
                .orElseThrow(() -> new AssertionError("LORAXJ_AUTH_API_KEYS_FILE_OPTIONAL not set")).getValue(),
                "the server accepts the file's absence only because the manifest says it may be absent");
        assertTrue(Manifests.all(r, Secret.class).stream().anyMatch(s -> s.getMetadata().getName().equals(v.getSecret().getSecretName())));
        assertEquals("api-keys", v.getSecret().getItems().stream().filter(i -> file.equals(mount.getMountPath() + "/" + i.getPath()))
                .findFirst().orElseThrow(() -> new AssertionError("no item maps to " + file)).getKey());
    }

    @Test
    void cacheVolumeIsTheClaimHfHomeLivesOn() {
        List<HasMetadata> r = Manifests.render("base");
        Deployment d = Manifests.one(r, Deployment.class);
        Container c = Manifests.container(d);
        String hfHome = c.getEnv().stream().filter(e -> e.getName().equals("HF_HOME")).findFirst().orElseThrow().getValue();
        VolumeMount mount = c.getVolumeMounts().stream().filter(m -> hfHome.startsWith(m.getMountPath() + "/")).findFirst()
                .orElseThrow(() -> new AssertionError("HF_HOME " + hfHome + " is on no volume"));
        Volume v = d.getSpec().getTemplate().getSpec().getVolumes().stream().filter(x -> x.getName().equals(mount.getName())).findFirst().orElseThrow();
        assertNotNull(v.getPersistentVolumeClaim(), "HF_HOME is on the claim");
        assertEquals(Manifests.one(r, PersistentVolumeClaim.class).getMetadata().getName(), v.getPersistentVolumeClaim().getClaimName());
    }

    @Test
    void secretShipsNoValues() {
        Secret s = Manifests.one(Manifests.render("base"), Secret.class);
        // kubectl apply resets every key a manifest lists, so real values are set out of band.
        assertTrue(s.getData() == null || s.getData().isEmpty(), "no data");
        assertTrue(s.getStringData() == null || s.getStringData().isEmpty(), "no stringData");
    }

    static int serverHttpPort() {
        return Integer.parseInt(applicationProperties().getProperty("quarkus.http.port", "8080"));
    }

    /** The server's application.properties, as packaged (the Deployment adds only environment variables). */
    static Properties applicationProperties() {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            p.load(in);
        } catch (IOException e) {
            throw new AssertionError("cannot read application.properties", e);
        }
        return p;
    }
}
