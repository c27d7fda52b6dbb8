/** Pinned trust anchors. */
import { X509Certificate } from 'node:crypto';
import { EbakError } from '../errors.js';

/** SHA-256 fingerprint AWS publishes for the AWS Nitro Enclaves root G1. */
export const AWS_NITRO_ROOT_G1_SHA256 =
  '64:1A:03:21:A3:E2:44:EF:E4:56:46:31:95:D6:06:31:7E:D7:CD:CC:3C:17:56:E0:98:93:F3:C6:8F:79:BB:5B';

/** https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip (valid 2019-10-28 to 2049-10-28). */
const AWS_NITRO_ROOT_G1_PEM = `
-----BEGIN CERTIFICATE-----
MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD
VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4
MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL
DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG
BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb
48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE
h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF
R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC
MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW
rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N
IwLz3/Y=
-----END CERTIFICATE-----
`;

/** The AWS Nitro root G1, checked against its published fingerprint before use. */
export function awsNitroRootG1(): X509Certificate {
  const root = new X509Certificate(AWS_NITRO_ROOT_G1_PEM);
  if (root.fingerprint256 !== AWS_NITRO_ROOT_G1_SHA256) {
    throw new EbakError('ATTESTATION', 'built-in AWS Nitro root G1 does not match its published fingerprint');
  }
  return root;
}

/** Parses a PEM or DER root certificate a user pins (e.g. `--root`). */
export function loadRoot(pemOrDer: string | Uint8Array): X509Certificate {
  try {
    return new X509Certificate(pemOrDer);
  } catch (e) {
    throw new EbakError('USAGE', 'the pinned root is not a PEM or DER X.509 certificate', {
      cause: e,
      hint: 'pass the root CA certificate file, e.g. aws-nitro-root-g1.pem',
    });
  }
}
