/**
 * A TypeDoc plugin that reads the house-style module paragraph. Every public module opens with a
 * doc comment (what it is, when to use it) followed by its imports; TypeDoc 0.28 takes a file's
 * first comment as the module's documentation only when it carries `@module` or
 * `@packageDocumentation`, so without this plugin the namespace pages (`Trace`, `Mh`, …) and the
 * package pages (`@fugue/core`, …) would have no description. The plugin gives a module or
 * namespace that has no comment the first doc comment of its source file — unless that comment
 * documents the file's first statement, an exported declaration.
 *
 * @since 0.1.0
 */
import { Converter, type Context, type Reflection, ReflectionKind, TypeScript as ts } from "typedoc"
import type { Application, Comment } from "typedoc"

/** The opening paragraph of `file`, parsed by TypeDoc, or undefined when it has none. */
const moduleComment = (context: Context, file: ts.SourceFile): Comment | undefined => {
  const text = file.text
  const docs = (ts.getLeadingCommentRanges(text, 0) ?? []).filter((r) => text.startsWith("/**", r.pos))
  if (docs.length === 0) return undefined
  const first = file.statements[0]
  const exported = first !== undefined && ts.canHaveModifiers(first) &&
    (ts.getModifiers(first) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  // a lone comment directly above an exported declaration is that declaration's, not the module's
  if (docs.length === 1 && exported) return undefined
  // parse only the first comment: TypeDoc would otherwise pick the one nearest the first statement
  const head = ts.createSourceFile(file.fileName, `${text.slice(0, docs[0].end)}\n`, ts.ScriptTarget.Latest, true)
  return context.getNodeComment(head, false)
}

const fill = (context: Context, reflection: Reflection): void => {
  if (reflection.comment !== undefined || !reflection.kindOf(ReflectionKind.SomeModule | ReflectionKind.Project)) return
  const file = context.getSymbolFromReflection(reflection)?.declarations?.find(ts.isSourceFile)
  if (file !== undefined) reflection.comment = moduleComment(context, file)
}

/** Registers the plugin: TypeDoc calls `load` for each module named in the `plugin` option. */
export const load = (app: Application): void => {
  // priority 1: before TypeDoc's own comment plugin (priority 0) reads `@category`, `@hidden`, …
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, fill, 1)
  app.converter.on(Converter.EVENT_CREATE_PROJECT, (context, project) => fill(context, project), 1)
}
