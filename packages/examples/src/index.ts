export * from "./models.ts"
export * from "./named.ts"
