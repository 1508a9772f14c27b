/**
 * GS1 check digits, pure: the mod-10 check of GTINs and SSCCs, and the check digit of a 4- or
 * 5-digit price/weight field inside a variable-measure code (gateway/kiosk/README.md).
 */

/**
 * GTIN check digit of `digits` (the data digits, without the check): weights 3,1,3,1… from the
 * rightmost digit leftwards, check = (10 − Σ mod 10) mod 10 (GS1 General Specifications, GTIN check digit).
 * Returns −1 when `digits` is empty or holds anything but 0–9, so a comparison with a digit fails.
 */
export function gtinCheckDigit(digits: string): number {
  if (!/^[0-9]+$/.test(digits)) return -1;
  let sum = 0;
  let weight = 3;
  for (let i = digits.length - 1; i >= 0; i--) {
    sum += (digits.charCodeAt(i) - 48) * weight;
    weight = 4 - weight;
  }
  return (10 - (sum % 10)) % 10;
}

/** True for 8, 12, 13 or 14 digits whose last digit is the GTIN check digit of the others. */
export function isValidGtin(code: string): boolean {
  if (!/^(?:[0-9]{8}|[0-9]{12,14})$/.test(code)) return false;
  return hasValidCheck(code);
}

/** Any all-digit string (GTIN, SSCC) whose last digit is the mod-10 check of the others. */
export function hasValidCheck(code: string): boolean {
  return gtinCheckDigit(code.slice(0, -1)) === code.charCodeAt(code.length - 1) - 48;
}

// GS1 General Specifications price/weight check digit weighting tables: digit → weighted product digit.
const W2_MINUS = [0, 2, 4, 6, 8, 9, 1, 3, 5, 7];
const W3 = [0, 3, 6, 9, 2, 5, 8, 1, 4, 7];
const W5_PLUS = [0, 5, 1, 6, 2, 7, 3, 8, 4, 9];
const W5_MINUS = [0, 5, 9, 4, 8, 3, 7, 2, 6, 1];

/**
 * Check digit of a 4- or 5-digit price/weight field (`2875`→9, `14685`→6).
 * Returns −1 for any other input.
 */
export function priceCheckDigit(value: string): number {
  if (!/^[0-9]{4,5}$/.test(value)) return -1;
  const d = [...value].map((c) => c.charCodeAt(0) - 48);
  if (d.length === 4) {
    // 4 digits: weights [2−, 2−, 3, 5−]; check = (Σ × 3) mod 10.
    return ((W2_MINUS[d[0]] + W2_MINUS[d[1]] + W3[d[2]] + W5_MINUS[d[3]]) * 3) % 10;
  }
  // 5 digits: weights [5+, 2−, 5−, 5+, 2−]; r = (10 − Σ mod 10) mod 10; check = d with 5−(d) = r.
  const sum = W5_PLUS[d[0]] + W2_MINUS[d[1]] + W5_MINUS[d[2]] + W5_PLUS[d[3]] + W2_MINUS[d[4]];
  return W5_MINUS.indexOf((10 - (sum % 10)) % 10);
}
