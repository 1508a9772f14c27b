import type { ReceiptDoc } from '../../../../../gateway/protocol/schemas/printer.js';

/** A receipt as the gateway sends it: labels in English, amounts in cents. */
export const SAMPLE_RECEIPT: ReceiptDoc = {
  storeName: 'Demo Store',
  header: ['Main Street 1', 'VAT no. DE123456789'],
  lines: [
    { text: 'Organic whole milk 1 l', amount: 129 },
    { text: 'Apples', qty: '0.512 kg x €2.99/kg', amount: 153 },
  ],
  totals: [{ label: 'TOTAL', amount: 282, bold: true }],
  vat: [{ label: 'VAT 7%', net: 264, tax: 18 }],
  payment: ['Debit Mastercard', '************4771', 'Receipt no. 1234'],
  footer: ['Thank you!'],
  qr: 'https://r.example/t-1',
  currency: 'EUR',
  language: 'en',
  transactionId: 't-1',
};
