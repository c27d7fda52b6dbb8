/**
 * A refusal of the simulated key service, named by the AWS KMS exception type
 * it stands for; the server sends it as KMS does (HTTP 400,
 * `{"__type": …, "message": …}`), so the SDK raises its typed exception.
 */
export type KmsFaultType =
  | 'AccessDeniedException'
  | 'IncorrectKeyException'
  | 'InvalidCiphertextException'
  | 'InvalidSignatureException'
  | 'MalformedPolicyDocumentException'
  | 'NotFoundException'
  | 'UnknownOperationException'
  | 'UnrecognizedClientException'
  | 'UnsupportedOperationException'
  | 'ValidationException';

export class KmsFault extends Error {
  constructor(readonly type: KmsFaultType, message: string) {
    super(message);
    this.name = type;
  }
}
