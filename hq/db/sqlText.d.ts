// build.mjs bundles the migrations' .sql files as text (esbuild's text loader).
declare module '*.sql' {
  const text: string;
  export default text;
}
