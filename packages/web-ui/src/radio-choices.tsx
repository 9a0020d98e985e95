/** Radio buttons of one group, each in its label; put them in a fieldset with a legend. */
export function RadioChoices<T extends string>(props: {
  name: string;
  value: T;
  /** Each choice's value and words. */
  choices: readonly (readonly [T, string])[];
  onChange: (value: T) => void;
}) {
  return (
    <>
      {props.choices.map(([value, words]) => (
        <label key={value} class="inline">
          <input
            type="radio"
            name={props.name}
            value={value}
            checked={props.value === value}
            onChange={() => props.onChange(value)}
          />
          <span>{words}</span>
        </label>
      ))}
    </>
  );
}
