package org.serverstarter.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A self-signed certificate for {@code localhost}, {@code 127.0.0.1} and {@code ::1}, made by the JDK's own
 * {@code keytool}, in a PKCS12 keystore: what a TLS test's server presents (clients that check it trust the keystore,
 * or skip the check with {@code -k} / {@code nghttp}'s default).
 */
public record TestCertificate(Path keystore, String password, String alias) {

    /** Makes a new key pair and certificate in {@code dir/name}. */
    public static TestCertificate create(Path dir, String name) throws IOException, InterruptedException {
        TestCertificate certificate = new TestCertificate(dir.resolve(name), "changeit", "server");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Exited made = Exited.run(new ProcessBuilder(List.of(keytool.toString(), "-genkeypair", "-noprompt",
                "-alias", certificate.alias(), "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1,ip:::1",
                "-storetype", "PKCS12", "-keystore", certificate.keystore().toString(),
                "-storepass", certificate.password())), Duration.ofSeconds(60));
        if (made.status() != 0) {
            throw new IOException("keytool exited with " + made.status() + ": " + made.output());
        }
        return certificate;
    }
}
