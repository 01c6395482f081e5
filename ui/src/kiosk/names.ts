// What a kiosk shows of the menu in the customer's language: an item's,
// group's or choice's own name in that language when the manager gave one.
import type { LineOptionEntry, MenuEntry, OptionChoiceEntry, OptionGroupEntry } from "../bindings";

export function nameIn(thing: MenuEntry | OptionGroupEntry | OptionChoiceEntry, lang: string): string {
  return thing.names[lang] || thing.name;
}

/** A line's options in words, a choice taken more than once counted
 * (`ICE · Large · Extra shot ×2`), each in the customer's language where the
 * item's groups name it so. */
export function optionsText(options: LineOptionEntry[], item: MenuEntry | undefined, lang: string): string {
  const counted: { text: string; times: number }[] = [];
  for (const o of options) {
    const group = item?.optionGroups.find((g) => g.name === o.group);
    const choice = group?.choices.find((c) => c.name === o.choice);
    const text = choice ? nameIn(choice, lang) : o.choice;
    const last = counted[counted.length - 1];
    if (last && last.text === text) last.times += 1;
    else counted.push({ text, times: 1 });
  }
  return counted.map((c) => (c.times > 1 ? `${c.text} ×${c.times}` : c.text)).join(" · ");
}
