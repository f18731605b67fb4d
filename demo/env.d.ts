// Vite's client types: CSS imports, `new URL(..., import.meta.url)` workers, import.meta.env.
/// <reference types="vite/client" />
