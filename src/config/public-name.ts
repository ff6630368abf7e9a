/**
 * ECHConfig `public_name` validation (RFC 9849 §4, applied by clients per
 * §6.1.7). Clients MUST ignore a config whose public_name is not a
 * dot-separated sequence of LDH labels (RFC 5890 §2.3.1) or that begins or
 * ends with a dot, and SHOULD ignore one whose last label looks like an IPv4
 * literal: all ASCII digits, or "0x"/"0X" followed by (possibly no) hex digits.
 * We apply the SHOULD too, as BoringSSL, Go and rustls do.
 *
 * Names are handled as one character per wire byte (latin1), so a name with
 * non-ASCII bytes still round-trips and is rejected here, not mangled.
 */

const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/
const ALL_DIGITS = /^[0-9]+$/
const HEX_NUMBER = /^0[xX][0-9A-Fa-f]*$/

/** RFC 1035 §2.3.4: labels are at most 63 octets */
export const MAX_LABEL_LENGTH = 63

/** The `public_name<1..255>` bound of RFC 9849 §4 */
export const MAX_PUBLIC_NAME_LENGTH = 255

/** Why `name` is not a usable public_name, or undefined when it is */
export function publicNameProblem (name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_PUBLIC_NAME_LENGTH) {
    return `length ${name.length} outside 1..${MAX_PUBLIC_NAME_LENGTH}`
  }
  const labels = name.split('.')
  for (const label of labels) {
    if (label.length === 0) {
      return 'empty label (leading, trailing or double dot)'
    }
    if (label.length > MAX_LABEL_LENGTH) {
      return `label longer than ${MAX_LABEL_LENGTH} characters`
    }
    if (!LDH_LABEL.test(label)) {
      return 'label is not LDH (letters, digits, inner hyphens)'
    }
  }
  const last = labels[labels.length - 1]
  if (ALL_DIGITS.test(last) || HEX_NUMBER.test(last)) {
    return 'last label is numeric (could be read as an IPv4 address)'
  }
  return undefined
}

/** RFC 9849 §6.1.7: whether a client may use this public_name */
export function isValidPublicName (name: string): boolean {
  return publicNameProblem(name) === undefined
}
