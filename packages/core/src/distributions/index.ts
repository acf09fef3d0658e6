export * from "./Normal.ts"
