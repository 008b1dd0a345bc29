/**
 * The artifact type of a file name, in CloudRepo download-analytics' order (reference/seeds.md
 * §2.3): checksums first, so `lib-1.0.jar.sha256` is a checksum and not a jar; then POMs, then
 * jars; everything else is `other` (the seed crashed on that branch and lost the download).
 *
 * The seed tested substrings ("sha" anywhere), which also made `shaded.jar` a checksum; here the
 * tests look at the name's ending, so only real checksum and POM files match.
 */
export const ARTIFACT_TYPES = ['jar', 'pom', 'crypto', 'other'] as const;
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

export const ARTIFACT_TYPE_LABELS: Record<ArtifactType, string> = {
  jar: 'Jar file',
  pom: 'Maven POM',
  crypto: 'SHA/MD5 hash',
  other: 'Other',
};

const CHECKSUM = /\.(md5|sha1?|sha-?(224|256|384|512))$/;
const POM = /(\.pom|(^|\/)pom\.xml)$/;
const JAR = /\.jar$/;

export function classifyArtifact(fileName: string | null | undefined): ArtifactType {
  const name = (fileName ?? '').trim().toLowerCase();
  if (CHECKSUM.test(name)) return 'crypto';
  if (POM.test(name)) return 'pom';
  if (JAR.test(name)) return 'jar';
  return 'other';
}
