/**
 * A throwaway certificate authority for TLS tests, made with `openssl`.
 *
 * @module
 */

async function openssl(dir: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
}

/**
 * Writes `ca.crt`/`ca.key`, a throwaway CA, and `server.crt`/`server.key`,
 * a certificate it signed for localhost and 127.0.0.1, into `dir`.
 *
 * @param dir An existing directory.
 */
export async function makeCertificates(dir: string): Promise<void> {
  const ec = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
  ];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=redis-subjects test CA",
  ]);
  await openssl(dir, [
    "req",
    ...ec,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "1",
    "-extfile",
    "server.ext",
  ]);
}

/**
 * The `tls` option of `startRedisServer` for the files
 * {@linkcode makeCertificates} wrote into `dir`.
 */
export function serverTls(dir: string): {
  certFile: string;
  keyFile: string;
  caCertFile: string;
} {
  return {
    certFile: `${dir}/server.crt`,
    keyFile: `${dir}/server.key`,
    caCertFile: `${dir}/ca.crt`,
  };
}
