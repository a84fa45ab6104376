"""Tiny random Llama models built in seconds, for tests and examples.

They are real ``LlamaForCausalLM`` checkpoints with a real byte-level BPE tokenizer
and a ChatML chat template, so every code path that SmolLM2 takes runs on them,
only ~1000x faster. Their outputs are noise, deterministic for a given seed.
"""

from __future__ import annotations

from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] }}"
    "{% if not (loop.last and message['role'] == 'assistant' and continue_final_message) %}"
    "{{ '<|im_end|>\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

_CORPUS = """The following are multiple choice questions (with answers) about biology.
Which organelle produces most of the ATP in a eukaryotic cell?
A. Nucleus
B. Mitochondrion
C. Ribosome
D. Golgi apparatus
Answer: B
I'm sorry, but I can't help with that request. I cannot provide instructions.
Sure, here is a short poem about tea and the morning sun over quiet hills.
As an AI assistant I must decline. Here are some safer alternatives instead.
The quick brown fox jumps over the lazy dog 0123456789 times, said the report.
Chemistry, cybersecurity, networks, passwords, encryption, protocols, molecules.
"""


def build_tiny_llama(
    directory: Path,
    *,
    seed: int = 0,
    vocab_size: int = 400,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    context_length: int = 512,
) -> Path:
    """Write a random tiny Llama checkpoint and tokenizer to ``directory``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS.splitlines() * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token="<|im_start|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(directory)
    from assay._util.hf import quiet_transformers

    quiet_transformers()

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=context_length,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(directory)
    return directory
