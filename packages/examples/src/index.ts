export * from "./models.ts"
