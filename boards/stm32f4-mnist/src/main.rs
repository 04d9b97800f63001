//! Firmware for an STM32F411 "Black Pill" (25 MHz crystal, run at 100 MHz): answers MNIST
//! request frames on USART1 (PA9 TX, PA10 RX, 115200 8N1) with the class and the logits of
//! the `.born` model embedded in flash (protocol: the library's docs).
//!
//! Build: `cargo fw` (`cargo build --release --target thumbv7em-none-eabihf`); the model is
//! `$BORN_MODEL` or `target/board-models/mlp.int8.born` (see build.rs).
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod firmware {
    use born_core::{include_model, Model};
    use cortex_m_rt::entry;
    use panic_halt as _;
    use stm32f4_mnist::{encode_error, write_all, Classifier, Error, MNIST_OPS};
    use stm32f4xx_hal::{pac, prelude::*, rcc::Config, serial::Serial};

    mod generated {
        include!(concat!(env!("OUT_DIR"), "/model_info.rs"));
    }
    use generated::ARENA_LEN;

    fn halt() -> ! {
        loop {
            cortex_m::asm::wfi();
        }
    }

    #[entry]
    fn main() -> ! {
        // cortex-m-rt turns this into a `&'static mut` owned by `main` (in .bss, not on the
        // stack): the arena for activations and kernel scratch.
        static mut ARENA: [u8; ARENA_LEN] = [0; ARENA_LEN];

        let Some(dp) = pac::Peripherals::take() else {
            halt()
        };
        let mut rcc = dp.RCC.freeze(Config::hse(25.MHz()).sysclk(100.MHz()));
        let gpioa = dp.GPIOA.split(&mut rcc);
        let Ok(serial) =
            Serial::<_, u8>::new(dp.USART1, (gpioa.pa9, gpioa.pa10), 115_200.bps(), &mut rcc)
        else {
            halt()
        };
        let (mut tx, mut rx) = serial.split();
        let mut delay = dp.TIM2.delay_us(&mut rcc);

        // build.rs validated this model with the same ops and sized the arena from it, so
        // these cannot fail; if they do, say so on the line and stop. Loading through
        // MNIST_OPS (not Model::from_bytes) keeps every other op's rules out of flash.
        let model = match Model::from_bytes_with(
            include_model!(env!("BORN_MODEL_FILE")),
            MNIST_OPS.table(),
        ) {
            Ok(m) => m,
            Err(e) => {
                let _ = write_all(&mut tx, &mut delay, 10_000, &encode_error(&Error::Model(e)));
                halt()
            }
        };
        let mut classifier = match Classifier::new(&model, ARENA, MNIST_OPS.table()) {
            Ok(c) => c,
            Err(e) => {
                let _ = write_all(&mut tx, &mut delay, 10_000, &encode_error(&e));
                halt()
            }
        };

        loop {
            match classifier.serve(&mut rx, &mut tx, &mut delay) {
                Ok(_) => {}
                // An idle line, or noise before a frame: wait for the next sync bytes.
                Err(Error::Timeout { received: 0 }) | Err(Error::Sync { .. }) => {}
                Err(e) => {
                    let _ = classifier.answer_error(&mut tx, &mut delay, &e);
                }
            }
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "stm32f4-mnist is firmware for an STM32F411: build it with `cargo fw` \
         (cargo build --release --target thumbv7em-none-eabihf); `cargo test` tests its \
         protocol on this host"
    );
    std::process::exit(2);
}
