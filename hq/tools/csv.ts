/**
 * CSV as RFC 4180 describes it (https://www.rfc-editor.org/rfc/rfc4180): comma-separated fields,
 * a field in double quotes may hold commas, line breaks and `""` for a quote; lines end in CRLF or
 * LF; the first line is the header. A UTF-8 byte order mark (spreadsheet exports add one) is
 * skipped. Pure and total: any text gives rows and errors, never an exception. Each row carries the
 * line it started on, so an error can name it.
 */
export interface CsvRow {
  /** 1-based line number where the row starts (the header is line 1). */
  line: number;
  cells: string[];
}

export interface CsvError {
  line: number;
  message: string;
}

export interface CsvParse {
  header: string[];
  rows: CsvRow[];
  errors: CsvError[];
}

export function parseCsv(text: string): CsvParse {
  const records: CsvRow[] = [];
  const errors: CsvError[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < text.length) {
    const start = line;
    const cells: string[] = [];
    let bad = false;
    for (;;) {
      let cell = '';
      if (text[i] === '"') {
        i++;
        let closed = false;
        while (i < text.length) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              cell += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === '\n') line++;
          cell += c;
          i++;
        }
        if (!closed) {
          errors.push({ line: start, message: 'a quoted field is never closed (a " is missing)' });
          bad = true;
        } else if (i < text.length && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          errors.push({ line, message: `text after a closing quote (field ${cells.length + 1})` });
          bad = true;
          while (i < text.length && text[i] !== ',' && text[i] !== '\n') i++;
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"' && !bad) {
            errors.push({ line, message: `a quote inside an unquoted field (field ${cells.length + 1}); quote the whole field and double the quote` });
            bad = true;
          }
          cell += text[i];
          i++;
        }
      }
      cells.push(cell);
      if (i >= text.length) break;
      if (text[i] === ',') {
        i++;
        continue;
      }
      // End of record: LF or CRLF.
      i += text[i] === '\r' ? 2 : 1;
      line++;
      break;
    }
    // A blank line (one empty cell) is skipped, as spreadsheets leave them at the end.
    if (!bad && !(cells.length === 1 && cells[0] === '')) records.push({ line: start, cells });
  }
  const [head, ...rows] = records;
  if (!head) return { header: [], rows: [], errors: errors.length ? errors : [{ line: 1, message: 'no header row' }] };
  if (head.line !== 1 && !errors.some((e) => e.line === 1)) errors.push({ line: 1, message: 'the header row must be the first line' });
  const header = head.cells.map((c) => c.trim());
  const seen = new Set<string>();
  for (const h of header) {
    if (h === '') errors.push({ line: head.line, message: 'a column with an empty name' });
    else if (seen.has(h)) errors.push({ line: head.line, message: `column ${h}: named twice` });
    seen.add(h);
  }
  for (const r of rows) if (r.cells.length !== header.length) errors.push({ line: r.line, message: `${r.cells.length} fields, the header has ${header.length}` });
  return { header, rows: rows.filter((r) => r.cells.length === header.length), errors };
}
