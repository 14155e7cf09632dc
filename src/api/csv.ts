/**
 * CSV as RFC 4180 writes it: records end with CRLF, and a field holding a comma, a double quote, CR or LF
 * is enclosed in double quotes with its quotes doubled. The first record is the header.
 */

export type CsvField = string | number;

function csvField(value: CsvField): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The header line, then one line per row; every line ends with CRLF. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvField[])[]): string {
  return [header, ...rows].map((record) => `${record.map(csvField).join(',')}\r\n`).join('');
}
