package org.serverstarter.samples;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The keystore a sample serves HTTPS with when {@code SAMPLE_TLS} is set (not empty, not {@code 0}):
 * {@code SAMPLE_TLS_KEYSTORE} (a PKCS12 file; default {@code tls/keystore.p12} beside {@code samples.jar}, which
 * {@code mvn package} creates with {@code samples/tls/generate}) and {@code SAMPLE_TLS_PASSWORD} (default
 * {@code changeit}). The keystore is read when the generation starts, so replacing it and restarting rotates the
 * certificate.
 *
 * @param keystore the PKCS12 keystore with the server's key and certificate
 * @param password the keystore's password, also the key's
 */
public record Tls(Path keystore, String password) {
    static final String DEFAULT_PASSWORD = "changeit";

    static Optional<Tls> from(Map<String, String> env) {
        String enabled = env.getOrDefault("SAMPLE_TLS", "");
        if (enabled.isEmpty() || enabled.equals("0")) {
            return Optional.empty();
        }
        String keystore = env.getOrDefault("SAMPLE_TLS_KEYSTORE", "");
        Path path = keystore.isEmpty() ? defaultKeystore() : Path.of(keystore);
        if (!Files.isReadable(path)) {
            throw new IllegalArgumentException("SAMPLE_TLS is set but the keystore " + path + " is not readable: build"
                    + " the samples (mvn package) or set SAMPLE_TLS_KEYSTORE");
        }
        Tls tls = new Tls(path, env.getOrDefault("SAMPLE_TLS_PASSWORD", DEFAULT_PASSWORD));
        tls.check();
        return Optional.of(tls);
    }

    /**
     * Opens the keystore once before anything starts, so that a broken one (a bad rename, a wrong password) stops the
     * generation with one line, as a missing one does, not with a framework's stack trace at its first handshake.
     */
    private void check() {
        try {
            KeyStore store = load();
            for (String alias : Collections.list(store.aliases())) {
                if (store.isKeyEntry(alias)) {
                    return;
                }
            }
            throw new IllegalArgumentException("the keystore " + keystore + " (SAMPLE_TLS_KEYSTORE) holds no private"
                    + " key");
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("the keystore " + keystore + " (SAMPLE_TLS_KEYSTORE) cannot be read as"
                    + " PKCS12 with SAMPLE_TLS_PASSWORD: " + e.getMessage());
        }
    }

    private static Path defaultKeystore() {
        try {
            Path jar = Path.of(Tls.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.resolveSibling("tls").resolve("keystore.p12");
        } catch (URISyntaxException | RuntimeException e) {
            return Path.of("samples/target/tls/keystore.p12");
        }
    }

    /** The keystore, loaded now. */
    public KeyStore load() throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            store.load(in, password.toCharArray());
        }
        return store;
    }

    /** A server context with the keystore's key and certificate. */
    public SSLContext serverContext() throws GeneralSecurityException, IOException {
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(load(), password.toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), null, null);
        return context;
    }

    /** A client context that trusts the keystore's own certificate, for the warm-up. */
    public SSLContext clientContext() throws GeneralSecurityException, IOException {
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(load());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }
}
