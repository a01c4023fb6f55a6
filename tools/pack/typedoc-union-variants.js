// @ts-check
// A TypeDoc plugin that narrows what `validation.notDocumented` asks for in two places
// where the comment one level up is the documentation:
// - the fields of the object types that make up a documented union type alias
//   (`type PoolProblem = { kind: 'orphan-block'; block: string } | { ... }`), which the
//   alias's comment describes variant by variant;
// - the members of a documented `as const` table of literals (the project's enums, STYLE
//   rule 8: `R.R0`, `Helper.map_lookup_elem`, `SOCK.STREAM`), whose names are the
//   kernel's or the spec's and whose values the reference shows.
// Every other property (of interfaces, classes, plain object types) must be documented.
import { Converter, DeclarationReflection, ReflectionKind, ReflectionType, UnionType } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    const exempt = new Set(app.options.getValue('intentionallyNotDocumented'));
    for (const alias of context.project.getReflectionsByKind(ReflectionKind.TypeAlias)) {
      if (!(alias instanceof DeclarationReflection) || !alias.hasComment() || !(alias.type instanceof UnionType)) continue;
      for (const variant of alias.type.types) {
        if (!(variant instanceof ReflectionType)) continue;
        for (const field of variant.declaration.children ?? []) {
          if (!field.hasComment()) exempt.add(field.getFriendlyFullName());
        }
      }
    }
    for (const table of context.project.getReflectionsByKind(ReflectionKind.Variable)) {
      if (!(table instanceof DeclarationReflection) || !table.hasComment() || !(table.type instanceof ReflectionType)) continue;
      const members = table.type.declaration.children ?? [];
      if (!members.every((m) => m.type?.type === 'literal')) continue;
      for (const member of members) {
        if (!member.hasComment()) exempt.add(member.getFriendlyFullName());
      }
    }
    app.options.setValue('intentionallyNotDocumented', [...exempt]);
  });
}
